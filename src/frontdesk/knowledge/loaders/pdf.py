"""PDF: the text layer, one section per page (anchor ``page=N`` opens the right page)."""

from __future__ import annotations

import io
import logging
import warnings

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PyPdfError
from pypdf.generic import DictionaryObject

from frontdesk.knowledge.documents import (
    DocumentSkipped,
    LoadedDocument,
    Section,
    SkipReason,
    content_hash,
    tidy,
)
from frontdesk.knowledge.loaders.limits import ParseLimits


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
    except MemoryError:
        raise
    except Exception as exc:  # pypdf raises assorted errors on malformed files
        raise DocumentSkipped(SkipReason.CORRUPT, f"unreadable PDF: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def check_pdf(reader: PdfReader, limits: ParseLimits) -> None:
    """Object and page counts from the xref table and the page tree root, before any
    page is walked (a page tree can claim or reference millions of pages in a few bytes)."""
    objects = sum(len(table) for table in reader.xref.values()) + len(reader.xref_objStm)
    if objects > limits.max_pdf_objects:
        raise DocumentSkipped(
            SkipReason.TOO_LARGE,
            f"the PDF has {objects} objects; the limit is {limits.max_pdf_objects}",
        )
    root = reader.trailer["/Root"].get_object()
    tree = root["/Pages"].get_object() if isinstance(root, DictionaryObject) else None
    count = tree.get("/Count") if isinstance(tree, DictionaryObject) else None
    if not isinstance(count, int) or count < 0:
        raise DocumentSkipped(SkipReason.CORRUPT, "the PDF page tree has no valid /Count")
    if count > limits.max_pdf_pages:
        raise DocumentSkipped(
            SkipReason.TOO_LARGE,
            f"the PDF has {count} pages; the limit is {limits.max_pdf_pages}",
        )


def load_pdf(
    data: bytes, source: str, stem: str, limits: ParseLimits | None = None
) -> LoadedDocument:
    limits = limits or ParseLimits()
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reader = _open(data)
        try:
            check_pdf(reader, limits)
            pages: list[str] = []
            for page in reader.pages:
                if len(pages) >= limits.max_pdf_pages:  # /Count lied
                    raise DocumentSkipped(
                        SkipReason.TOO_LARGE, f"the PDF has over {limits.max_pdf_pages} pages"
                    )
                pages.append(tidy(page.extract_text() or ""))
            meta_title = _title(reader)
        except DocumentSkipped:
            raise
        except FileNotDecryptedError as exc:
            raise DocumentSkipped(SkipReason.ENCRYPTED, "encrypted PDF") from exc
        except MemoryError:
            raise
        except Exception as exc:  # pypdf raises assorted errors on malformed files
            raise DocumentSkipped(
                SkipReason.CORRUPT, f"unreadable PDF page: {_describe(exc)}"
            ) from exc
    sections = tuple(
        Section(text=text, page=number, anchor=f"page={number}")
        for number, text in enumerate(pages, start=1)
        if text
    )
    if not sections:
        raise DocumentSkipped(SkipReason.EMPTY, "PDF has no text layer (scanned?); OCR it first")
    first_line = sections[0].text.split("\n", 1)[0].strip()
    title = meta_title or (first_line if len(first_line) <= 120 else stem)
    return LoadedDocument(
        source=source,
        title=title,
        format="pdf",
        sections=sections,
        content_hash=content_hash(data),
    )


def _title(reader: PdfReader) -> str:
    """The /Info title; a broken /Info (e.g. one that references itself) has none."""
    try:
        info = reader.metadata
        title = info.title if info is not None else None
    except Exception:  # metadata is optional: a broken /Info is no title, not an error
        return ""
    return str(title).strip() if isinstance(title, str) else ""
