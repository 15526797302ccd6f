from __future__ import annotations

import itertools
import re

import pytest

from frontdesk.knowledge.chunking import ChunkingOptions, chunk_document
from frontdesk.knowledge.documents import LoadedDocument, Section
from frontdesk.knowledge.embedding import HashEmbedder, LocalEmbedder
from frontdesk.knowledge.loaders import load_file
from tests.knowledge.conftest import SAMPLE_KB

WORDS = [
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
]


def _doc(*sections: Section) -> LoadedDocument:
    return LoadedDocument("s.md", "Doc", "markdown", tuple(sections), "h")


def _long_text(n_sentences: int) -> str:
    return " ".join(
        f"Sentence {i} talks about {WORDS[i % len(WORDS)]} and {WORDS[(i * 7) % len(WORDS)]}."
        for i in range(n_sentences)
    )


def test_windows_respect_the_token_budget_and_overlap(local_embedder: LocalEmbedder) -> None:
    options = ChunkingOptions(max_tokens=60, overlap_tokens=15)
    text = _long_text(40)
    chunks = chunk_document(_doc(Section(text, ("A",), anchor="a")), local_embedder, options)
    assert len(chunks) > 3
    for chunk in chunks:
        assert local_embedder.count_tokens(chunk.text) <= options.max_tokens
        assert chunk.section_path == ("A",) and chunk.anchor == "a"
    for before, after in itertools.pairwise(chunks):
        first_sentence = re.match(r"Sentence \d+[^.]*\.", after.text)
        assert first_sentence is not None
        assert first_sentence.group(0) in before.text  # overlap carried over
    covered = " ".join(c.text for c in chunks)
    for sentence in re.findall(r"Sentence \d+[^.]*\.", text):
        assert sentence in covered


def test_never_splits_inside_a_word() -> None:
    counter = HashEmbedder()
    words = [f"word{i}" for i in range(500)]
    text = " ".join(words)  # one giant sentence without punctuation
    chunks = chunk_document(_doc(Section(text)), counter, ChunkingOptions(40, 10))
    vocab = set(words)
    for chunk in chunks:
        assert counter.count_tokens(chunk.text) <= 40
        assert set(chunk.text.split()) <= vocab
    assert chunks[0].text.split()[0] == "word0" and chunks[-1].text.split()[-1] == "word499"


def test_paragraphs_are_kept_whole_when_they_fit() -> None:
    counter = HashEmbedder()
    text = "First paragraph here.\n\nSecond paragraph here.\n\nThird one."
    chunks = chunk_document(_doc(Section(text)), counter, ChunkingOptions(200, 20))
    assert [c.text for c in chunks] == [text]
    assert chunks[0].token_count == counter.count_tokens(text)


def test_qa_rows_and_sections_are_separate_chunks() -> None:
    doc = load_file(SAMPLE_KB / "billing" / "billing-faq.csv")
    chunks = chunk_document(doc, HashEmbedder())
    assert len(chunks) == len(doc.sections)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[0].section == "Payments > Which payment methods do you accept?"


def test_content_hash_is_stable_and_context_sensitive() -> None:
    counter = HashEmbedder()
    a = chunk_document(_doc(Section("Same text.", ("A",))), counter)
    b = chunk_document(_doc(Section("Same text.", ("A",))), counter)
    c = chunk_document(_doc(Section("Same text.", ("B",))), counter)
    assert a[0].content_hash == b[0].content_hash != c[0].content_hash


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="overlap"):
        ChunkingOptions(max_tokens=100, overlap_tokens=60)


def test_short_introductions_fold_into_the_first_nested_section() -> None:
    doc = _doc(
        Section("Short intro.", (), anchor="doc"),
        Section("Setup body.", ("Setup",), anchor="setup"),
        Section("Tiny.", ("Other",), anchor="other"),
        Section("Sibling is not nested.", ("Third",), anchor="third"),
    )
    chunks = chunk_document(doc, HashEmbedder())
    assert [(c.text, c.anchor) for c in chunks] == [
        ("Short intro.\n\nSetup body.", "setup"),
        ("Tiny.", "other"),
        ("Sibling is not nested.", "third"),
    ]
