"""PDF: the text layer, one section per page (anchor ``page=N`` opens the right page)."""

from __future__ import annotations

import io
import logging
import warnings

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError, PyPdfError

from frontdesk.knowledge.documents import (
    DocumentSkipped,
    LoadedDocument,
    Section,
    SkipReason,
    content_hash,
    tidy,
)


def _open(data: bytes) -> PdfReader:
    if not data.lstrip()[:5].startswith(b"%PDF"):
        raise DocumentSkipped(SkipReason.CORRUPT, "not a PDF (no %PDF header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except (NotImplementedError, PyPdfError) as exc:
                raise DocumentSkipped(SkipReason.ENCRYPTED, f"encrypted PDF: {exc}") from exc
            if not ok:
                raise DocumentSkipped(SkipReason.ENCRYPTED, "encrypted PDF (password needed)")
        return reader
    except DocumentSkipped:
        raise
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentSkipped(SkipReason.CORRUPT, f"unreadable PDF: {exc}") from exc


def load_pdf(data: bytes, source: str, stem: str) -> LoadedDocument:
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = _open(data)
        try:
            pages = [tidy(page.extract_text() or "") for page in reader.pages]
            info = reader.metadata
            meta_title = (info.title if info is not None else None) or ""
        except FileNotDecryptedError as exc:
            raise DocumentSkipped(SkipReason.ENCRYPTED, "encrypted PDF") from exc
        except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
            raise DocumentSkipped(SkipReason.CORRUPT, f"unreadable PDF page: {exc}") from exc
    sections = tuple(
        Section(text=text, page=number, anchor=f"page={number}")
        for number, text in enumerate(pages, start=1)
        if text
    )
    if not sections:
        raise DocumentSkipped(SkipReason.EMPTY, "PDF has no text layer (scanned?); OCR it first")
    first_line = sections[0].text.split("\n", 1)[0].strip()
    title = str(meta_title).strip() or (first_line if len(first_line) <= 120 else stem)
    return LoadedDocument(
        source=source,
        title=title,
        format="pdf",
        sections=sections,
        content_hash=content_hash(data),
    )
