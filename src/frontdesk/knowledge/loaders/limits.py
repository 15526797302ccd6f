"""Limits on what parsing one file may cost, checked before the expensive work starts.

A DOCX is a zip: its members' declared sizes and compression ratios are checked before
python-docx inflates anything (zipfile never returns more than a member's declared size).
A PDF's page count and object count are read from its page tree and cross-reference
table before any page is walked. Time and memory are enforced by the worker process
(:mod:`frontdesk.knowledge.sandbox`).
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import asdict, dataclass
from typing import Any

from frontdesk.knowledge.documents import DocumentSkipped, SkipReason

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ParseLimits:
    timeout_seconds: float = 60.0
    """Wall-clock time to parse one file (the worker is killed past it)."""
    memory_bytes: int = 1024 * MIB
    """Address space of the worker process (RLIMIT_AS)."""
    max_expanded_bytes: int = 100 * MIB
    """Total uncompressed size of a DOCX's zip members."""
    max_ratio: float = 100.0
    """Largest compression ratio of a zip member bigger than ``ratio_floor_bytes``."""
    ratio_floor_bytes: int = 1 * MIB
    max_pdf_pages: int = 5000
    max_pdf_objects: int = 500_000

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_zip(data: bytes, limits: ParseLimits) -> None:
    """Reject zip bombs by the central directory, before anything is decompressed."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise DocumentSkipped(SkipReason.CORRUPT, f"not a valid zip archive: {exc}") from exc
    total = 0
    for member in members:
        total += member.file_size
        if total > limits.max_expanded_bytes:
            raise DocumentSkipped(
                SkipReason.TOO_LARGE,
                f"the archive expands to more than {limits.max_expanded_bytes} bytes "
                f"(a decompression bomb?)",
            )
        if member.file_size > limits.ratio_floor_bytes:
            ratio = member.file_size / max(member.compress_size, 1)
            if ratio > limits.max_ratio:
                raise DocumentSkipped(
                    SkipReason.TOO_LARGE,
                    f"{member.filename} expands {ratio:.0f}x ({member.file_size} bytes from "
                    f"{member.compress_size}); the limit is {limits.max_ratio:.0f}x "
                    f"(a decompression bomb?)",
                )
