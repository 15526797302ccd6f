"""The person model runs only on messages that could name someone (guard/ner.py
``may_name_someone``): most support questions have no capital but the sentences' first words,
and spaCy is most of the input guard's time."""

from __future__ import annotations

from typing import Any

import pytest

from frontdesk.guard.ner import NerEngine, may_name_someone


@pytest.mark.parametrize(
    "text",
    [
        "Hello! When is your support team available?",
        "How do I get a refund on my annual plan? I paid last week.",
        "can i export my data",
        "Thanks. What's the price?\nAlso, where do I change my password?",
    ],
)
def test_no_candidate_names(text: str) -> None:
    assert not may_name_someone(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hello, my colleague Bill cannot log in.",  # a capital inside a sentence
        "Maria here, the invoice is wrong.",  # a sentence opened by an unknown word
        "Is SSO included?",  # an acronym: the model may call it a person (kept conservative)
        "When? Tomorrow.",  # "Tomorrow" is no opener
    ],
)
def test_candidate_names(text: str) -> None:
    assert may_name_someone(text)


def test_the_model_runs_only_when_a_name_is_possible(
    ner: NerEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine: Any = ner._analyzer.nlp_engine
    calls: list[str] = []
    original = engine.process_text

    def counted(text: str, language: str) -> Any:
        calls.append(text)
        return original(text, language)

    monkeypatch.setattr(engine, "process_text", counted)
    assert ner.find("Hello! When is your support team available?") == []
    assert calls == []
    found = ner.find("Hello, my colleague Bill Turner cannot log in.")
    assert calls == ["Hello, my colleague Bill Turner cannot log in."]
    assert [("Hello, my colleague Bill Turner cannot log in."[s.start : s.end]) for s in found] == [
        "Bill Turner"
    ]
    calls.clear()
    # a cue rule found a lower-case name: the model still runs (coordinated names need it)
    text = "my name is naomi ryan and my husband is Tom"
    assert [text[s.start : s.end] for s in ner.find(text)] and calls == [text]
