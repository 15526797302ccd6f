"""Names and addresses through Presidio + spaCy, and the span-level evaluation threshold."""

from __future__ import annotations

import csv
from pathlib import Path

from frontdesk.guard.base import GuardContext
from frontdesk.guard.ner import NerEngine
from frontdesk.guard.pii import PiiCheck
from frontdesk.guard.pii_eval import evaluate, load_examples


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


def test_pii_span_f2_on_presidio_research_data(ner: NerEngine, datasets: Path) -> None:
    """Regression floor for the measured F2 (0.80 overall; the issue's target is 0.85)."""
    examples = load_examples(datasets / "pii" / "synth_dev.json")
    report = evaluate(examples, PiiCheck(ner=ner).spans)
    f2 = {kind: f for kind, _n, _p, _r, f in report.rows()}
    assert f2["OVERALL"] >= 0.78
    for kind in ("CARD", "SSN", "IBAN", "EMAIL"):
        assert f2[kind] >= 0.95, kind
    assert f2["ADDRESS"] >= 0.82
    assert f2["PHONE"] >= 0.80
    assert f2["PERSON"] >= 0.68


def test_real_customer_messages_are_rarely_redacted(ner: NerEngine, datasets: Path) -> None:
    """False redactions garble questions: on banking77 (no PII) fewer than 1% may be touched.

    Measured on all 10,003 messages: 7 (0.07%).
    """
    with (datasets / "banking77" / "train.csv").open(encoding="utf-8", newline="") as fh:
        texts = [row["text"] for row in csv.DictReader(fh)][::20]
    check = PiiCheck(ner=ner)
    touched = [t for t in texts if check.spans(t)]
    assert len(touched) <= 0.01 * len(texts), touched
