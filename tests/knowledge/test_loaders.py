from __future__ import annotations

import io
from pathlib import Path

import docx
import pytest
from pypdf import PdfWriter

from frontdesk.knowledge.documents import DocumentSkipped, SkipReason
from frontdesk.knowledge.loaders import load_bytes, load_file
from tests.knowledge.conftest import SAMPLE_KB


def _skip_reason(data: bytes, name: str) -> SkipReason:
    with pytest.raises(DocumentSkipped) as info:
        load_bytes(data, name)
    return info.value.reason


def test_markdown_sections_follow_headings() -> None:
    text = (
        "---\ntitle: Guide\nurl: https://x.example/guide\n---\n# Guide\nIntro.\n\n"
        "## Setup\nInstall it.\n\n```\n# not a heading\n```\n\n### Linux\nUse apt.\n\n"
        "## Setup\nAgain.\n"
    )
    doc = load_bytes(text.encode(), "guide.md")
    assert doc.title == "Guide" and doc.url == "https://x.example/guide"
    assert [(s.heading_path, s.anchor) for s in doc.sections] == [
        ((), "guide"),
        (("Setup",), "setup"),
        (("Setup", "Linux"), "linux"),
        (("Setup",), "setup-1"),
    ]
    assert "# not a heading" in doc.sections[1].text


def test_html_keeps_main_text_and_drops_navigation() -> None:
    doc = load_file(SAMPLE_KB / "integrations" / "snowflake.html")
    assert doc.title == "Connecting Snowflake"
    assert doc.url == "https://docs.northwinddata.example/integrations/snowflake"
    text = doc.text
    assert "AUTO_SUSPEND" in text and "key-pair authentication" in text
    for noise in ("Privacy", "Was this page helpful", "analytics", "Search the docs"):
        assert noise not in text
    network = next(s for s in doc.sections if s.anchor == "network-policy")
    assert network.heading_path == ("Network policies",)


def test_html_table_rows_and_list_items() -> None:
    html = (
        b"<html><body><nav>Menu</nav><main><h1>T</h1><ul><li>one</li><li><p>two</p></li></ul>"
        b"<table><tr><th>Plan</th><th>Price</th></tr><tr><td>Growth</td><td>$299</td></tr>"
        b"</table></main></body></html>"
    )
    doc = load_bytes(html, "t.html")
    assert doc.text == "- one\n\n- two\n\nPlan | Price\n\nGrowth | $299"


def test_pdf_is_loaded_per_page_with_page_anchors() -> None:
    doc = load_file(SAMPLE_KB / "security" / "service-level-agreement.pdf")
    assert doc.title == "Service Level Agreement (Enterprise)"
    assert [s.page for s in doc.sections] == [1, 2, 3]
    assert [s.anchor for s in doc.sections] == ["page=1", "page=2", "page=3"]
    assert "service credit of 10%" in doc.sections[1].text


def _blank_pdf(password: str | None = None) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    if password:
        writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_bad_pdfs_are_skipped_with_reasons() -> None:
    assert _skip_reason(_blank_pdf(), "scan.pdf") is SkipReason.EMPTY
    assert _skip_reason(_blank_pdf("secret"), "locked.pdf") is SkipReason.ENCRYPTED
    good = (SAMPLE_KB / "security" / "gdpr-and-dpa.pdf").read_bytes()
    assert _skip_reason(good[: len(good) // 3], "cut.pdf") in {
        SkipReason.CORRUPT,
        SkipReason.EMPTY,
    }
    assert _skip_reason(b"%PDF-1.7 garbage garbage", "junk.pdf") in {
        SkipReason.CORRUPT,
        SkipReason.EMPTY,
    }
    assert _skip_reason(b"hello", "fake.pdf") is SkipReason.CORRUPT


def test_docx_headings_tables_and_lists() -> None:
    document = docx.Document()
    document.core_properties.title = "Handbook"
    document.add_heading("Handbook", level=0)
    document.add_heading("Billing", level=1)
    document.add_paragraph("Invoices are monthly.")
    document.add_paragraph("Pay by card", style="List Bullet")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Plan"
    table.rows[0].cells[1].text = "Growth"
    document.add_heading("Cards", level=2)
    document.add_paragraph("Visa and Mastercard.")
    out = io.BytesIO()
    document.save(out)
    doc = load_bytes(out.getvalue(), "handbook.docx")
    assert doc.title == "Handbook"
    assert [(s.heading_path, s.text) for s in doc.sections] == [
        (("Billing",), "Invoices are monthly.\n\n- Pay by card\n\nPlan | Growth"),
        (("Billing", "Cards"), "Visa and Mastercard."),
    ]
    assert _skip_reason(out.getvalue()[:500], "cut.docx") is SkipReason.CORRUPT
    assert _skip_reason(b"not a zip", "x.docx") is SkipReason.CORRUPT


def test_csv_faq_one_section_per_row() -> None:
    doc = load_file(SAMPLE_KB / "billing" / "billing-faq.csv")
    assert all(s.kind == "qa" for s in doc.sections)
    first = doc.sections[0]
    assert first.heading_path == ("Payments", "Which payment methods do you accept?")
    assert first.text.startswith("Q: Which payment methods do you accept?\nA: We accept Visa")
    assert first.anchor == "row-1"
    headerless = load_bytes(b"What is it?,A pipeline tool.\nIs it free?,No.\n", "faq.csv")
    assert [s.text for s in headerless.sections][1] == "Q: Is it free?\nA: No."


def test_text_title_and_byte_checks(tmp_path: Path) -> None:
    doc = load_bytes(b"Title line\n\nBody   text\n\n\n\nMore.", "notes.txt")
    assert doc.title == "Title line" and doc.text == "Title line\n\nBody text\n\nMore."
    assert _skip_reason(b"\x89PNG\r\n\x1a\n\x00\x00", "image.txt") is SkipReason.BINARY
    assert _skip_reason("caf\u00e9".encode("latin-1"), "latin.md") is SkipReason.NOT_UTF8
    assert _skip_reason(b"   \n\n", "blank.txt") is SkipReason.EMPTY
    assert _skip_reason(b"", "empty.md") is SkipReason.EMPTY
    assert _skip_reason(b"x", "archive.zip") is SkipReason.UNSUPPORTED
    assert load_bytes("\ufeffBOM ok".encode(), "bom.txt").text == "BOM ok"


def test_too_large_files_are_skipped_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "huge.txt"
    with big.open("wb") as fh:
        fh.truncate(600 * 1024 * 1024)  # sparse: 600 MB without writing it
    with pytest.raises(DocumentSkipped) as info:
        load_file(big)
    assert info.value.reason is SkipReason.TOO_LARGE
    assert "limit" in info.value.detail


def test_every_sample_document_loads() -> None:
    files = [p for p in SAMPLE_KB.rglob("*") if p.is_file() and p.suffix != ".py"]
    assert len(files) >= 25
    formats = {load_file(p).format for p in files}
    assert formats == {"markdown", "html", "pdf", "docx", "text", "csv"}
