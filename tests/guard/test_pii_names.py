"""Names and addresses through Presidio + spaCy, and the span-level evaluation threshold."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from frontdesk.guard.base import GuardContext
from frontdesk.guard.name_rules import CommonWords, find_rare_names, load_common_words
from frontdesk.guard.ner import NerEngine
from frontdesk.guard.pii import PiiCheck
from frontdesk.guard.pii_eval import evaluate, load_examples, split_by_template


def test_names_and_addresses_are_redacted(ner: NerEngine) -> None:
    check = PiiCheck(ner=ner)
    text = "Hi, my name is Sara Schwarz and I live at 221 Baker Street, London."
    verdict = check.check(text, GuardContext())
    assert "Sara" not in verdict.text and "Schwarz" not in verdict.text
    assert "Baker" not in verdict.text
    assert "[PERSON]" in verdict.text and "[ADDRESS]" in verdict.text


def test_plain_support_questions_have_no_names(ner: NerEngine) -> None:
    check = PiiCheck(ner=ner)
    for text in (
        "How do I reset my password?",
        "My card payment was declined twice today",
        "Can I get a refund for my last order?",
    ):
        assert check.check(text, GuardContext()).action == "allow", text


@pytest.fixture(scope="module")
def common_words() -> CommonWords:
    return load_common_words()


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Vinka: What a wife.", "Vinka"),
        ("Sofie lives on the third floor", "Sofie"),
        ("It was a done thing between him and Asya's kid", "Asya"),
        ("Billing address: Tintin Forsberg", "Tintin Forsberg"),
        ("I want to add Irenke Sörös as a beneficiary", "Irenke Sörös"),
        ("Maybe it's under Miklós Hajdu", "Miklós Hajdu"),
        ("Rościsław Dudek of Lexisnexis is the keynote speaker", "Rościsław Dudek"),
    ],
)
def test_rare_names_in_person_positions(common_words: CommonWords, text: str, name: str) -> None:
    assert name in {text[s.start : s.end] for s in find_rare_names(text, common_words)}


@pytest.mark.parametrize(
    "text",
    [
        "Note: the card arrived",
        "The Apple Pay top-up failed",
        "Subject: Refund request",
        "Please add Google Pay as a payment method",
        "Customer Service said it was fine",
    ],
)
def test_dictionary_words_are_not_rare_names(common_words: CommonWords, text: str) -> None:
    assert find_rare_names(text, common_words) == []


def test_call_me_on_is_not_a_name(ner: NerEngine) -> None:
    spans = PiiCheck(ner=ner).spans("Can someone call me on 9472 7916? Or call me when you can")
    assert [s.kind for s in spans] == ["PHONE"]


def test_pii_span_f2_on_presidio_research_data(ner: NerEngine, datasets: Path) -> None:
    """Regression floor on the report half of synth_dev (templates split by
    ``split_by_template``; the name, phone and address rules were fitted on the other half).
    Measured there: overall F2 0.888, PERSON 0.859, ADDRESS 0.893, PHONE 0.922."""
    _fit, held_out = split_by_template(load_examples(datasets / "pii" / "synth_dev.json"))
    report = evaluate(held_out, PiiCheck(ner=ner).spans)
    f2 = {kind: f for kind, _n, _p, _r, f in report.rows()}
    assert f2["OVERALL"] >= 0.87
    for kind in ("CARD", "SSN", "IBAN", "EMAIL"):
        assert f2[kind] >= 0.95, kind
    assert f2["ADDRESS"] >= 0.87
    assert f2["PHONE"] >= 0.90
    assert f2["PERSON"] >= 0.845


def test_real_customer_messages_are_rarely_redacted(ner: NerEngine, datasets: Path) -> None:
    """False redactions garble questions: on banking77 (no PII) fewer than 1% may be touched.

    Measured on all 10,003: 3 (0.03%) get a PERSON redaction, one of them a real name.
    """
    with (datasets / "banking77" / "train.csv").open(encoding="utf-8", newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)][::20]
    check = PiiCheck(ner=ner)
    touched = [t for t in texts if check.spans(t)]
    assert len(touched) <= 0.01 * len(texts), touched
