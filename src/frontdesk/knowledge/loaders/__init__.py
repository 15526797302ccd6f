"""Turn a file (or uploaded bytes) into a :class:`LoadedDocument`, or a typed skip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from frontdesk.knowledge.documents import DocumentSkipped, LoadedDocument, SkipReason
from frontdesk.knowledge.loaders.csv_faq import load_csv
from frontdesk.knowledge.loaders.docx import load_docx
from frontdesk.knowledge.loaders.html import load_html
from frontdesk.knowledge.loaders.limits import ParseLimits
from frontdesk.knowledge.loaders.markdown import load_markdown
from frontdesk.knowledge.loaders.pdf import load_pdf
from frontdesk.knowledge.loaders.text import load_text

Loader = Callable[[bytes, str, str], LoadedDocument]
LimitedLoader = Callable[[bytes, str, str, ParseLimits | None], LoadedDocument]

LOADERS: dict[str, Loader] = {
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".txt": load_text,
    ".text": load_text,
    ".csv": load_csv,
}
LIMITED: dict[str, LimitedLoader] = {".pdf": load_pdf, ".docx": load_docx}
"""Containers whose size after decompression or object count is checked first."""
SUPPORTED_SUFFIXES = frozenset(LOADERS)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

__all__ = [
    "DEFAULT_MAX_BYTES",
    "LOADERS",
    "SUPPORTED_SUFFIXES",
    "DocumentSkipped",
    "LoadedDocument",
    "ParseLimits",
    "SkipReason",
    "load_bytes",
    "load_file",
    "read_file",
]


def _stem(name: str) -> str:
    return Path(name).stem.replace("_", " ").replace("-", " ").strip() or name


def load_bytes(
    data: bytes, name: str, source: str | None = None, limits: ParseLimits | None = None
) -> LoadedDocument:
    """Load uploaded bytes; ``name`` picks the format by suffix. Raises DocumentSkipped.

    This parses in the calling process: untrusted files go through
    :class:`frontdesk.knowledge.sandbox.ParserWorker`, which calls this in a child process
    with time and memory limits."""
    suffix = Path(name).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise DocumentSkipped(SkipReason.UNSUPPORTED, f"no loader for {suffix or 'no suffix'}")
    if not data:
        raise DocumentSkipped(SkipReason.EMPTY, "empty file")
    limited = LIMITED.get(suffix)
    if limited is not None:
        return limited(data, source or name, _stem(name), limits)
    return loader(data, source or name, _stem(name))


def read_file(path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A file's bytes; the suffix and size limit are checked before reading."""
    if path.suffix.lower() not in LOADERS:
        raise DocumentSkipped(SkipReason.UNSUPPORTED, f"no loader for {path.suffix or 'no suffix'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentSkipped(
                SkipReason.TOO_LARGE, f"{size} bytes is over the {max_bytes}-byte limit"
            )
        return path.read_bytes()
    except OSError as exc:
        raise DocumentSkipped(SkipReason.UNREADABLE, f"cannot read: {exc}") from exc


def load_file(
    path: Path, *, source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> LoadedDocument:
    """Load one file in this process (trusted files only). Raises DocumentSkipped."""
    return load_bytes(read_file(path, max_bytes=max_bytes), path.name, source or str(path))
