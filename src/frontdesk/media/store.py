"""Attachments on disk: bytes stored once by their sha256, records kept per conversation.

    <root>/blobs/ab/abcdef...            the cleaned bytes, content-addressed
    <root>/refs/abcdef.../<att-id>       one empty file per attachment using the bytes
    <root>/conversations/<cid>/<att-id>.json   the attachment's record

Every file is written to a temporary name and renamed into place, and the record is written
last, so a failure leaves nothing that a reader could find half-written. Erasing a
conversation removes its records and references, then every blob nothing else references.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from frontdesk.errors import NotFound, ValidationFailed

_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True, slots=True)
class Attachment:
    id: str
    conversation_id: str
    kind: Literal["image", "audio"]
    mime: str
    sha256: str
    size: int
    created_at: str
    text: str = ""
    """What was read (image text) or heard (transcript), after the input guard's redaction."""
    redacted: bool = False
    width: int | None = None
    height: int | None = None
    seconds: float | None = None
    frames: int | None = None
    truncated: bool = False
    """The image held more text than ``max_image_text_chars``: the rest was cut."""

    def public(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v is not None}
        out.pop("conversation_id", None)
        return out


def new_attachment_id() -> str:
    return "att_" + secrets.token_urlsafe(12)


def _checked(value: str, what: str) -> str:
    if not _ID.fullmatch(value):
        raise ValidationFailed(f"malformed {what}")
    return value


class FileMediaStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _blob(self, sha: str) -> Path:
        return self.root / "blobs" / sha[:2] / sha

    def _record(self, conversation_id: str, attachment_id: str) -> Path:
        cid = _checked(conversation_id, "conversation id")
        aid = _checked(attachment_id, "attachment id")
        return self.root / "conversations" / cid / f"{aid}.json"

    def put(self, attachment: Attachment, data: bytes) -> Attachment:
        sha = hashlib.sha256(data).hexdigest()
        if sha != attachment.sha256:
            raise ValueError("attachment sha256 does not match its bytes")
        with self._locked():  # a concurrent erase must not drop bytes being referenced
            blob = self._blob(sha)
            if not blob.exists():
                _write_atomic(blob, data)
            _write_atomic(self.root / "refs" / sha / attachment.id, b"")
        record = self._record(attachment.conversation_id, attachment.id)
        _write_atomic(record, json.dumps(asdict(attachment)).encode())
        return attachment

    def get(self, conversation_id: str, attachment_id: str) -> Attachment:
        path = self._record(conversation_id, attachment_id)
        try:
            raw = json.loads(path.read_bytes())
        except FileNotFoundError:
            raise NotFound(f"attachment {attachment_id} not found in this conversation") from None
        return Attachment(**raw)

    def read(self, attachment: Attachment) -> bytes:
        return self._blob(attachment.sha256).read_bytes()

    def list(self, conversation_id: str) -> list[Attachment]:
        folder = self.root / "conversations" / _checked(conversation_id, "conversation id")
        if not folder.is_dir():
            return []
        found = [Attachment(**json.loads(p.read_bytes())) for p in folder.glob("*.json")]
        return sorted(found, key=lambda a: a.created_at)

    def delete(self, attachment: Attachment) -> None:
        """Remove one attachment (and its bytes when nothing else uses them)."""
        self._record(attachment.conversation_id, attachment.id).unlink(missing_ok=True)
        self._release(attachment)

    def erase_conversation(self, conversation_id: str) -> int:
        """Delete the conversation's attachments (and bytes no one else uses); the count."""
        attachments = self.list(conversation_id)
        for att in attachments:
            self._record(conversation_id, att.id).unlink(missing_ok=True)
            self._release(att)
        folder = self.root / "conversations" / conversation_id
        shutil.rmtree(folder, ignore_errors=True)
        return len(attachments)

    def erase_older_than(self, cutoff: datetime) -> int:
        """Retention: delete every attachment created before ``cutoff`` (aware datetime)."""
        removed = 0
        conversations = self.root / "conversations"
        if not conversations.is_dir():
            return 0
        for folder in conversations.iterdir():
            for att in self.list(folder.name):
                if datetime.fromisoformat(att.created_at) < cutoff:
                    self._record(att.conversation_id, att.id).unlink(missing_ok=True)
                    self._release(att)
                    removed += 1
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty
        return removed

    def _release(self, att: Attachment) -> None:
        refs = self.root / "refs" / att.sha256
        with self._locked():
            (refs / att.id).unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                refs.rmdir()  # fails while another attachment still uses the bytes
                self._blob(att.sha256).unlink(missing_ok=True)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """One writer of blobs and references at a time, across processes on this host."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
