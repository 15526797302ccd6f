from __future__ import annotations

from frontdesk.chat.citations import number_sources, resolve_citations
from frontdesk.domain import Citation


def _cite(i: int) -> Citation:
    return Citation(i, f"c{i}", f"d{i}", f"Doc {i}", "Sec", "snippet", f"/kb/d{i}")


SOURCES = number_sources([_cite(1), _cite(2), _cite(3)])


def test_valid_markers_kept_in_first_citation_order() -> None:
    got = resolve_citations("Refunds take 14 days [2]. Annual plans too [1, 2].", SOURCES)
    assert got.text == "Refunds take 14 days [2]. Annual plans too [1, 2]."
    assert [c.index for c in got.citations] == [2, 1]
    assert got.invalid == []


def test_markers_without_a_source_are_removed() -> None:
    got = resolve_citations("We offer SSO [7]. Pricing is public [3, 9].", SOURCES)
    assert got.text == "We offer SSO. Pricing is public [3]."
    assert [c.index for c in got.citations] == [3]
    assert got.invalid == [7, 9]


def test_markdown_links_are_not_citations() -> None:
    got = resolve_citations("See [1](https://example.com) and [2].", SOURCES)
    assert [c.index for c in got.citations] == [2]
    assert "[1](https://example.com)" in got.text


def test_no_markers() -> None:
    got = resolve_citations("Hello.", SOURCES)
    assert got.text == "Hello."
    assert got.citations == []


def test_extractive_answers_drop_faq_labels() -> None:
    from frontdesk.chat.guarding import tidy_extract

    text = "Q: Can I get a refund? A: Annual plans get a full refund. [1] Also this. [2]"
    assert tidy_extract(text) == "Annual plans get a full refund. [1] Also this. [2]"
    assert tidy_extract("Q: Why did it fail? [2] Update the card. [1]") == "Update the card. [1]"
