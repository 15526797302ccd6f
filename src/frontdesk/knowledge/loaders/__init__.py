"""Turn a file (or uploaded bytes) into a :class:`LoadedDocument`, or a typed skip."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from frontdesk.knowledge.documents import DocumentSkipped, LoadedDocument, SkipReason
from frontdesk.knowledge.loaders.csv_faq import load_csv
from frontdesk.knowledge.loaders.docx import load_docx
from frontdesk.knowledge.loaders.html import load_html
from frontdesk.knowledge.loaders.markdown import load_markdown
from frontdesk.knowledge.loaders.pdf import load_pdf
from frontdesk.knowledge.loaders.text import load_text

Loader = Callable[[bytes, str, str], LoadedDocument]

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
SUPPORTED_SUFFIXES = frozenset(LOADERS)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024

__all__ = [
    "DEFAULT_MAX_BYTES",
    "LOADERS",
    "SUPPORTED_SUFFIXES",
    "DocumentSkipped",
    "LoadedDocument",
    "SkipReason",
    "load_bytes",
    "load_file",
]


def _stem(name: str) -> str:
    return Path(name).stem.replace("_", " ").replace("-", " ").strip() or name


def load_bytes(data: bytes, name: str, source: str | None = None) -> LoadedDocument:
    """Load uploaded bytes; ``name`` picks the format by suffix. Raises DocumentSkipped."""
    suffix = Path(name).suffix.lower()
    loader = LOADERS.get(suffix)
    if loader is None:
        raise DocumentSkipped(SkipReason.UNSUPPORTED, f"no loader for {suffix or 'no suffix'}")
    if not data:
        raise DocumentSkipped(SkipReason.EMPTY, "empty file")
    return loader(data, source or name, _stem(name))


def load_file(
    path: Path, *, source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> LoadedDocument:
    """Load one file; the size limit is checked before reading. Raises DocumentSkipped."""
    if path.suffix.lower() not in LOADERS:
        raise DocumentSkipped(SkipReason.UNSUPPORTED, f"no loader for {path.suffix or 'no suffix'}")
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentSkipped(
                SkipReason.TOO_LARGE, f"{size} bytes is over the {max_bytes}-byte limit"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentSkipped(SkipReason.UNREADABLE, f"cannot read: {exc}") from exc
    return load_bytes(data, path.name, source or str(path))
