"""Hand-built PDFs for the upload tests: a valid one with text, and hostile ones."""

from __future__ import annotations


def build_pdf(objects: list[bytes], trailer: bytes) -> bytes:
    """A PDF from numbered object bodies (object i+1 is objects[i]) with a correct xref."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d " % (len(objects) + 1) + trailer + b" >>\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def text_pdf(text: str = "Refunds are paid within 14 days.") -> bytes:
    stream = b"BT /F1 12 Tf 72 720 Td (" + text.encode() + b") Tj ET"
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
        b"/Root 1 0 R",
    )


def self_referencing_info_pdf() -> bytes:
    """The trailer's /Info is an object that is a reference to itself."""
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [] /Count 0 >>",
            b"3 0 R",
        ],
        b"/Root 1 0 R /Info 3 0 R",
    )


def page_tree_bomb(levels: int = 9, fan_out: int = 10, honest_count: bool = True) -> bytes:
    """A page tree where each node lists the node below ``fan_out`` times: ``fan_out **
    levels`` pages in a few hundred bytes. With ``honest_count`` False the root claims 1."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>"]
    leaf = 2 + levels
    for depth in range(levels):
        number = 2 + depth
        child = number + 1
        count = fan_out ** (levels - depth) if honest_count or depth else 1
        kids = b" ".join(b"%d 0 R" % child for _ in range(fan_out))
        parent = b"" if depth == 0 else b" /Parent %d 0 R" % (number - 1)
        objects.append(b"<< /Type /Pages /Kids [%s] /Count %d%s >>" % (kids, count, parent))
    objects.append(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] >>" % (leaf - 1))
    return build_pdf(objects, b"/Root 1 0 R")


def content_stream_bomb(operators: int = 3_000_000) -> bytes:
    """One page whose Flate-compressed content stream holds millions of text operators:
    small on disk, many seconds of pure-Python parsing in pypdf."""
    import zlib

    raw = b"BT /F1 12 Tf 72 720 Td " + b"(a) Tj " * operators + b"ET"
    stream = zlib.compress(raw, 9)
    return build_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream)
            + stream
            + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
        b"/Root 1 0 R",
    )
