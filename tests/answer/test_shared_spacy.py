"""One loaded spaCy pipeline serves the near-miss tagger and the PII guard's names."""

from __future__ import annotations

from pathlib import Path

from frontdesk.answer.coverage import SpacyTagger
from frontdesk.guard.ner import NerEngine, load_english
from frontdesk.wiring import SharedKnowledge


def test_tagger_and_name_detection_share_one_pipeline() -> None:
    nlp = load_english()
    tagger = SpacyTagger(nlp)
    ner = NerEngine.load(nlp)
    tagged = tagger.tag("Can I pay with Bitcoin on the Growth plan?")
    assert [t.pos for t in tagged if t.text == "plan"] == ["NOUN"]
    assert tagged[0].sentence_start and not tagged[1].sentence_start
    spans = ner.find("Hi, my name is Margaret Okafor and I need help.")
    assert any(s.kind == "PERSON" for s in spans)
    # the tagger runs no parser of the shared pipeline (that is the guard's)
    assert "parser" in nlp.pipe_names
    assert "parser" not in [name for name, _ in tagger._pipes]


async def test_the_app_loads_the_pipeline_once(tmp_path: Path) -> None:
    models = SharedKnowledge(f"sqlite:///{tmp_path}/kb.db")
    first = await models.english()
    assert await models.english() is first
