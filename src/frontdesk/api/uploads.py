"""Read a multipart upload as it streams in, with the size limit enforced while reading.

Starlette's ``request.form()`` spools the whole body to disk before a handler can look
at it; this parses the stream with python-multipart's push parser, keeps only the file
part (in memory, at most ``max_bytes``) and the small text fields, and stops with HTTP
413 as soon as the body passes the limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header

from frontdesk.errors import ClientError, PayloadTooLarge, ValidationFailed

MULTIPART_OVERHEAD = 64 * 1024
"""Headers, boundaries and text fields allowed on top of the file's bytes."""
MAX_FIELD_BYTES = 4096


@dataclass
class Upload:
    filename: str | None = None
    data: bytearray = field(default_factory=bytearray)
    fields: dict[str, str] = field(default_factory=dict)


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


class _Collector:
    def __init__(self, file_field: str, max_bytes: int) -> None:
        self.file_field = file_field
        self.max_bytes = max_bytes
        self.upload = Upload()
        self.part = _Part()
        self.header_field = bytearray()
        self.header_value = bytearray()
        self.headers: dict[str, bytes] = {}
        self.seen_file = False
        self.ended = False

    def on_part_begin(self) -> None:
        self.part = _Part()
        self.headers = {}

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[bytes(self.header_field).decode("latin-1").lower()] = bytes(self.header_value)
        self.header_field.clear()
        self.header_value.clear()

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get("content-disposition", b""))
        self.part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw = options.get(b"filename")
        self.part.filename = None if raw is None else raw.decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        part = self.part
        if part.name == self.file_field and part.filename is not None:
            if self.seen_file:
                raise ValidationFailed(f"send one file in the {self.file_field!r} field")
            if len(self.upload.data) + (end - start) > self.max_bytes:
                raise PayloadTooLarge(
                    f"the file is larger than {self.max_bytes} bytes", limit=self.max_bytes
                )
            self.upload.data += data[start:end]
            return
        if len(part.value) + (end - start) > MAX_FIELD_BYTES:
            raise PayloadTooLarge(
                f"form field {part.name!r} is longer than {MAX_FIELD_BYTES} bytes",
                limit=MAX_FIELD_BYTES,
            )
        part.value += data[start:end]

    def on_part_end(self) -> None:
        part = self.part
        if part.name == self.file_field and part.filename is not None:
            self.seen_file = True
            self.upload.filename = part.filename
        elif part.name:
            self.upload.fields[part.name] = part.value.decode("utf-8", "replace")

    def on_end(self) -> None:
        self.ended = True


async def read_upload(request: Request, *, file_field: str, max_bytes: int) -> Upload:
    """The file part and text fields of a ``multipart/form-data`` request."""
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise ValidationFailed("send the file as multipart/form-data")
    limit = max_bytes + MULTIPART_OVERHEAD
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes", limit=max_bytes)
    collector = _Collector(file_field, max_bytes)
    callbacks = {
        name: getattr(collector, name)
        for name in (
            "on_part_begin",
            "on_part_data",
            "on_part_end",
            "on_header_field",
            "on_header_value",
            "on_header_end",
            "on_headers_finished",
            "on_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes", limit=max_bytes)
        try:
            parser.write(chunk)
        except ClientError:
            raise
        except Exception as exc:  # python-multipart's errors on a malformed body
            raise ValidationFailed(f"malformed multipart body: {exc}") from exc
    if not collector.ended:
        raise ValidationFailed("malformed multipart body: it ended before its last boundary")
    if not collector.seen_file:
        raise ValidationFailed(f"no file in the {file_field!r} form field")
    return collector.upload
