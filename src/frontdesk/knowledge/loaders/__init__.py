"""Turn a file (or uploaded bytes) into a :class:`LoadedDocument`, or a typed skip."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import cast

from frontdesk.knowledge.documents import DocumentSkipped, LoadedDocument, SkipReason
from frontdesk.knowledge.loaders.limits import ParseLimits

Loader = Callable[[bytes, str, str], LoadedDocument]
LimitedLoader = Callable[[bytes, str, str, ParseLimits | None], LoadedDocument]

# suffix -> (module under frontdesk.knowledge.loaders, its load function). The parser
# modules (pypdf, python-docx, markdown-it ...) are imported when a file needs them.
LOADERS: dict[str, tuple[str, str]] = {
    ".md": ("markdown", "load_markdown"),
    ".markdown": ("markdown", "load_markdown"),
    ".html": ("html", "load_html"),
    ".htm": ("html", "load_html"),
    ".pdf": ("pdf", "load_pdf"),
    ".docx": ("docx", "load_docx"),
    ".txt": ("text", "load_text"),
    ".text": ("text", "load_text"),
    ".csv": ("csv_faq", "load_csv"),
}
LIMITED = frozenset({".pdf", ".docx"})
"""Containers whose size after decompression or object count is checked first:
their loaders take the :class:`ParseLimits`."""
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
    "preload",
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
    if suffix not in LOADERS:
        raise DocumentSkipped(SkipReason.UNSUPPORTED, f"no loader for {suffix or 'no suffix'}")
    if not data:
        raise DocumentSkipped(SkipReason.EMPTY, "empty file")
    loader = _loader(suffix)
    if suffix in LIMITED:
        return cast(LimitedLoader, loader)(data, source or name, _stem(name), limits)
    return cast(Loader, loader)(data, source or name, _stem(name))


def _loader(suffix: str) -> Loader | LimitedLoader:
    module, function = LOADERS[suffix]
    found: Loader | LimitedLoader = getattr(
        importlib.import_module(f"{__name__}.{module}"), function
    )
    return found


def preload() -> None:
    """Import every parser now (the sandbox worker does, before it caps its memory)."""
    for suffix in LOADERS:
        _loader(suffix)


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
