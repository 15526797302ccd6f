"""Parse untrusted files in a worker process with limits on time and memory.

The worker is ``python -m frontdesk.knowledge.sandbox LIMITS_JSON``: it imports the
loaders, caps its own address space (``RLIMIT_AS``), then answers requests on stdin/stdout
(frames: 8-byte big-endian length + JSON header, then the file's bytes; the answer is one
JSON frame). JSON, not pickle, so a worker subverted by a hostile file can hand back text,
never code. The parent kills the worker when the deadline passes or the caller is
cancelled (the client left); a killed or crashed worker is replaced on the next file, so
one worker serves a whole batch (``frontdesk ingest``) and is recycled on failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from frontdesk.errors import ConfigError
from frontdesk.knowledge.documents import DocumentSkipped, LoadedDocument, Section, SkipReason
from frontdesk.knowledge.loaders.limits import MIB, ParseLimits

if TYPE_CHECKING:
    from frontdesk.settings import Settings

_LENGTH = struct.Struct(">Q")
MAX_REPLY_BYTES = 1024 * 1024 * 1024
STARTUP_SECONDS = 60.0


def limits_from(settings: Settings) -> ParseLimits:
    """The parse limits configured by ``FRONTDESK_PARSE_*``."""
    return ParseLimits(
        timeout_seconds=settings.parse_timeout_seconds,
        memory_bytes=settings.parse_memory_mb * MIB,
        max_expanded_bytes=settings.parse_max_expanded_mb * MIB,
    )


class ParserWorker:
    """One worker process, started on first use; ``async with`` stops it."""

    def __init__(self, limits: ParseLimits | None = None) -> None:
        self.limits = limits or ParseLimits()
        self._proc: asyncio.subprocess.Process | None = None
        self.started = 0
        """How many worker processes were started (one per batch, plus one per recycle)."""

    async def __aenter__(self) -> ParserWorker:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def parse(self, data: bytes, name: str, source: str | None = None) -> LoadedDocument:
        """Parse ``data`` (format by ``name``'s suffix). Raises DocumentSkipped, also for a
        file that needs more time or memory than the limits allow."""
        proc = await self._ensure()
        try:
            reply = await asyncio.wait_for(
                self._roundtrip(proc, data, name, source or name), self.limits.timeout_seconds
            )
        except TimeoutError:
            await self._kill()
            raise DocumentSkipped(
                SkipReason.TOO_LARGE,
                f"parsing took longer than {self.limits.timeout_seconds:g} s",
            ) from None
        except (asyncio.IncompleteReadError, BrokenPipeError, ConnectionResetError):
            code = await self._kill()
            raise DocumentSkipped(
                SkipReason.TOO_LARGE,
                f"the parser needed more than {self.limits.memory_bytes // (1024 * 1024)} MB "
                f"of memory or crashed (exit code {code})",
            ) from None
        except BaseException:  # cancelled (the client left): stop the parse at once
            await self._kill()
            raise
        if not reply.get("ok"):
            raise DocumentSkipped(SkipReason(reply["reason"]), str(reply["detail"]))
        return _decode(reply["document"])

    async def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            proc.kill()
            await proc.wait()

    async def _ensure(self) -> asyncio.subprocess.Process:
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "frontdesk.knowledge.sandbox",
            json.dumps(self.limits.to_json()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=1024 * 1024,
        )
        self.started += 1
        try:  # start-up (imports) is not charged to the first file's deadline
            ready = await asyncio.wait_for(_read_frame(self._proc), STARTUP_SECONDS)
        except (TimeoutError, asyncio.IncompleteReadError) as exc:
            await self._kill()
            raise ConfigError(f"the document parser process did not start: {exc!r}") from exc
        except BaseException:  # cancelled while starting: do not leave it running
            await self._kill()
            raise
        if not ready.get("ready"):
            await self._kill()
            raise ConfigError(f"the document parser process did not start: {ready}")
        return self._proc

    async def _kill(self) -> int | None:
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        # shielded: a cancelled caller must still reap the child it killed
        return await asyncio.shield(proc.wait())

    @staticmethod
    async def _roundtrip(
        proc: asyncio.subprocess.Process, data: bytes, name: str, source: str
    ) -> dict[str, Any]:
        assert proc.stdin is not None and proc.stdout is not None
        header = json.dumps({"name": name, "source": source, "size": len(data)}).encode()
        proc.stdin.write(_LENGTH.pack(len(header)) + header)
        proc.stdin.write(data)
        await proc.stdin.drain()
        return await _read_frame(proc)


async def _read_frame(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    (length,) = _LENGTH.unpack(await proc.stdout.readexactly(_LENGTH.size))
    if length > MAX_REPLY_BYTES:
        raise BrokenPipeError("oversized reply from the parser")
    reply: dict[str, Any] = json.loads(await proc.stdout.readexactly(length))
    return reply


def _encode(document: LoadedDocument) -> dict[str, Any]:
    return {
        "source": document.source,
        "title": document.title,
        "format": document.format,
        "content_hash": document.content_hash,
        "url": document.url,
        "metadata": document.metadata,
        "sections": [
            [s.text, list(s.heading_path), s.page, s.anchor, s.kind] for s in document.sections
        ],
    }


def _decode(raw: dict[str, Any]) -> LoadedDocument:
    return LoadedDocument(
        source=str(raw["source"]),
        title=str(raw["title"]),
        format=str(raw["format"]),
        content_hash=str(raw["content_hash"]),
        url=None if raw["url"] is None else str(raw["url"]),
        metadata={str(k): str(v) for k, v in raw["metadata"].items()},
        sections=tuple(
            Section(
                text=str(text),
                heading_path=tuple(str(h) for h in path),
                page=None if page is None else int(page),
                anchor=None if anchor is None else str(anchor),
                kind="qa" if kind == "qa" else "text",
            )
            for text, path, page, anchor, kind in raw["sections"]
        ),
    )


# --- the worker process --------------------------------------------------------------


def _read_exact(stream: BinaryIO, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _answer(data: bytes, name: str, source: str, limits: ParseLimits) -> dict[str, Any]:
    from frontdesk.knowledge.loaders import load_bytes

    try:
        return {"ok": True, "document": _encode(load_bytes(data, name, source, limits))}
    except DocumentSkipped as skip:
        return {"ok": False, "reason": skip.reason.value, "detail": skip.detail}
    except MemoryError:
        detail = f"parsing needs more than {limits.memory_bytes // (1024 * 1024)} MB of memory"
        return {"ok": False, "reason": SkipReason.TOO_LARGE.value, "detail": detail}
    except RecursionError:
        detail = "the file nests too deeply to parse"
        return {"ok": False, "reason": SkipReason.CORRUPT.value, "detail": detail}
    except Exception as exc:  # any parser bug on a hostile file is that file's problem
        detail = f"unreadable file: {type(exc).__name__}: {exc}"
        return {"ok": False, "reason": SkipReason.CORRUPT.value, "detail": detail[:2000]}


def worker_main(argv: list[str]) -> int:
    import resource

    from frontdesk.knowledge.loaders import preload

    preload()  # import the parsers before the memory cap

    limits = ParseLimits(**json.loads(argv[0]))
    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    ready = json.dumps({"ready": True}).encode()
    stdout.write(_LENGTH.pack(len(ready)) + ready)
    stdout.flush()
    while True:
        raw = _read_exact(stdin, _LENGTH.size)
        if raw is None:
            return 0
        header = json.loads(_read_exact(stdin, _LENGTH.unpack(raw)[0]) or b"{}")
        data = _read_exact(stdin, int(header["size"])) if header["size"] else b""
        if data is None:
            return 0
        reply = json.dumps(_answer(data, header["name"], header["source"], limits)).encode()
        stdout.write(_LENGTH.pack(len(reply)) + reply)
        stdout.flush()


if __name__ == "__main__":
    sys.exit(worker_main(sys.argv[1:]))
