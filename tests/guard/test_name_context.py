"""Names from their context: lists, repeats, forms of address, scripts beyond ASCII; and the
organisations, places and address lines that look like names but are not."""

from __future__ import annotations

import pytest

from frontdesk.guard.name_rules import find_rare_names, load_common_words
from frontdesk.guard.ner import NerEngine
from frontdesk.guard.pii import PiiCheck


def _persons(ner: NerEngine, text: str) -> set[str]:
    return {text[s.start : s.end] for s in PiiCheck(ner=ner).spans(text) if s.kind == "PERSON"}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        # coordination: one member is a person, so the others are too
        ("Our children are Tariku, Janet, Kevin and Brittany.", {"Tariku", "Janet", "Kevin"}),
        # repetition: the first name alone, later in the message
        ("I work with Ingeborg Halvorsen. Ingeborg said the card is blocked", {"Ingeborg"}),
        # forms of address, at the start and at the end of a sentence
        ("Aloisia, can I please speak to your manager?", {"Aloisia"}),
        ("Don't close my account, Nicholas!", {"Nicholas"}),
        # capitals outside Latin-1
        ("My grandmother was called Łucja Żmuda", {"Łucja Żmuda"}),
        ("The account holder is Mr. Šťastný", {"Šťastný"}),
        # answers to a name question, even dictionary words
        ("What's your last name? Baker", {"Baker"}),
        # lower-case transcripts and honorifics
        ('mika: "who are you?"\ntracy: "the account holder"', {"mika", "tracy"}),
        ("mr. okafor called about the refund", {"okafor"}),
        ("I'm so happy! said Maslin to Antonio", {"Antonio"}),
    ],
)
def test_names_from_context(ner: NerEngine, text: str, names: set[str]) -> None:
    found = _persons(ner, text)
    assert names <= found, found


@pytest.mark.parametrize(
    "text",
    [
        "Russell Investments is a design agency based in Oslo.",
        "Coden is a design agency based in Naantali.",
        "The Davis, Reynolds and Williamson Orchestra was founded in 1977.",
        "I am in Akureyri for a business trip",
        "We flew to Coles on Sunday morning.",
        "Unfortunately, as I said, the card is blocked.",
        "Regards, and thanks for the help!",
        "On Sunday we drove back to San Bernardino.",
        "The office moved to Porto Alegre last year",
    ],
)
def test_organisations_places_and_words_are_not_people(ner: NerEngine, text: str) -> None:
    assert _persons(ner, text) <= {"Davis"}, _persons(ner, text)


def test_the_town_after_an_address_joins_the_address(ner: NerEngine) -> None:
    text = "Please send it to 6750 Koskikatu 25 Apt. 864\nArtilleros\n, CO\n Uruguay 64677"
    spans = PiiCheck(ner=ner).spans(text)
    assert [s.kind for s in spans] == ["ADDRESS"]
    assert "Artilleros" in text[spans[0].start : spans[0].end]


def test_a_name_before_an_address_stays_a_name(ner: NerEngine) -> None:
    text = "Dr. Cindy Holinka Apt. 117 5720 Skoanveien 226"
    redacted = PiiCheck(ner=ner).scan(text).redacted
    assert redacted == "Dr. [PERSON] [ADDRESS]"


def test_a_name_in_a_place_position_but_possessive_is_kept(ner: NerEngine) -> None:
    assert "Ingeborg Halvorsen" in _persons(ner, "I left my card in Ingeborg Halvorsen's car")


def test_a_past_tense_verb_is_not_a_first_name() -> None:
    text = "Awarded Salesperson of the Month three times."
    assert find_rare_names(text, load_common_words()) == []
