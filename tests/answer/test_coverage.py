"""Near misses: what a question names that the documents never mention (real spaCy tagger)."""

from __future__ import annotations

from pathlib import Path

import pytest

from frontdesk.answer.coverage import Coverage, SpacyTagger, unknown_terms
from frontdesk.answer.extractive import ComposedAnswer
from frontdesk.answer.lexicon import Lexicon, word_forms
from frontdesk.chat.answering import extractive_reply
from frontdesk.chat.prompt import Source

SAMPLE_KB = Path(__file__).resolve().parents[2] / "sample_kb"
DOCS = [
    "Plans: the Starter plan costs $49 a month and the Growth plan $199. The Enterprise plan "
    "is priced on request. Registered nonprofits and accredited schools get a 40% discount.",
    "We accept cards and bank transfers. Invoices are in US dollars or euros.",
    "Allow the IP addresses for your region: 44.210.3.17 for the US region and 34.90.12.8 "
    "for the EU region. Warehouses supported: Snowflake, BigQuery, Redshift.",
    "Our Data Processing Agreement is part of the Terms of Service. Sub-processors are listed "
    "in the Trust Center. Replies from the team arrive within 4 hours.",
]


@pytest.fixture(scope="module")
def tagger() -> SpacyTagger:
    return SpacyTagger.load()


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.build(DOCS)


def test_word_forms_fold_inflections() -> None:
    assert "warehouse" in word_forms("warehouses")
    assert "reply" in word_forms("replies")
    assert "price" in word_forms("priced")


def test_lexicon_reads_words_names_acronyms_and_heads(lexicon: Lexicon) -> None:
    assert lexicon.knows("warehouse") and lexicon.knows("invoice")
    assert lexicon.knows("subprocessors")  # "Sub-processors" joined
    assert lexicon.knows("DPA")  # initials of "Data Processing Agreement"
    assert not lexicon.knows("crypto")
    assert lexicon.knows_name("Growth") and not lexicon.knows_name("Team")
    assert lexicon.is_head("plan") and lexicon.is_head("region")
    assert lexicon.knows_pair("Starter", "plans") and not lexicon.knows_pair("Team", "plan")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Is there a discount if I pay in crypto?", ["crypto"]),
        ("Is Northwind Data FedRAMP authorised?", ["FedRAMP"]),
        ("What's included in the Team plan?", ["Team plan"]),
        ("How much is the Enterprise Plus plan?", ["Enterprise Plus plan"]),
        ("Do you have a student discount?", ["student"]),
        ("Can I pay with PayPal?", ["PayPal"]),
    ],
)
def test_near_misses_are_named(
    question: str, expected: list[str], lexicon: Lexicon, tagger: SpacyTagger
) -> None:
    assert unknown_terms(question, lexicon, tagger, known=("Nora", "Northwind Data")) == expected


@pytest.mark.parametrize(
    "question",
    [
        "How much does the Growth plan cost?",
        "Which warehouses do you support?",
        "Can I sign the DPA?",
        "Where is the list of subprocessors?",
        "How fast are replies from support?",
        "I'm in Germany, can I be invoiced in euros?",  # a place is context, not the subject
        "Which IP addresses do you use for the US region?",
        "My colleague [PERSON] asked about the Starter plan last week.",
        "Can a person help me with the invoice?",
    ],
)
def test_paraphrases_and_context_are_not_near_misses(
    question: str, lexicon: Lexicon, tagger: SpacyTagger
) -> None:
    assert unknown_terms(question, lexicon, tagger, known=("Nora", "Northwind Data")) == []


def test_the_reply_names_what_is_missing_and_gives_the_closest_facts(
    lexicon: Lexicon, tagger: SpacyTagger
) -> None:
    coverage = Coverage(tagger, lambda: lexicon)
    question = "Is there a discount if I pay in crypto?"
    unknown = coverage.unknown(question)
    assert unknown == ["crypto"]
    source = Source(1, "Plans", "", DOCS[0])
    composed = ComposedAnswer(
        "Registered nonprofits and accredited schools get a 40% discount. [1]",
        True,
        0.6,
        (),
        "amount",
        tuple(unknown),
    )
    reply = extractive_reply(question, [source], composed)
    assert not reply.answered
    assert reply.missing == ("crypto",)
    assert reply.text.startswith("Our documentation doesn't mention “crypto”")
    assert "40% discount" in reply.text and "connect you with a person" in reply.text


def test_no_lexicon_falls_back_to_the_sources(tagger: SpacyTagger) -> None:
    assert Coverage(tagger, lambda: None).unknown("Can I pay with Bitcoin?") is None


def test_the_sample_kb_lexicon_knows_its_own_plans(tagger: SpacyTagger) -> None:
    texts = [p.read_text() for p in SAMPLE_KB.rglob("*.md")]
    lexicon = Lexicon.build(texts)
    assert unknown_terms("What does the Growth plan include?", lexicon, tagger) == []
    assert unknown_terms("What does the Team plan include?", lexicon, tagger) == ["Team plan"]


def test_an_unknown_product_is_named_in_full(lexicon: Lexicon, tagger: SpacyTagger) -> None:
    lex = Lexicon.build([*DOCS, "Sign in with Microsoft Entra ID."])
    question = "Does it integrate with Microsoft Dynamics 365?"
    assert unknown_terms(question, lex, tagger) == ["Microsoft Dynamics 365"]


def test_a_tier_the_documents_do_not_have_is_named(lexicon: Lexicon, tagger: SpacyTagger) -> None:
    lex = Lexicon.build([*DOCS, "API rate limits: 60 requests per minute on Starter."])
    assert unknown_terms("What's the API rate limit on the free plan?", lex, tagger) == [
        "free plan"
    ]
    # a tier word the documents do write with that noun is known
    lex = Lexicon.build([*DOCS, "Every plan includes the team plan features."])
    assert unknown_terms("What does the team plan include?", lex, tagger) == []


def test_an_answer_about_another_plan_is_not_an_answer(lexicon: Lexicon) -> None:
    question = "What uptime SLA do you guarantee on the Growth plan?"
    assert lexicon.other_instance(question, "The Enterprise plan adds a 99.9% SLA.") == "Growth"
    assert lexicon.other_instance(question, "Growth and Enterprise include alerts.") is None
    assert lexicon.other_instance("How do I reset my password?", "The Enterprise plan…") is None


def test_a_noun_that_asks_for_a_value_is_not_a_near_miss(
    lexicon: Lexicon, tagger: SpacyTagger
) -> None:
    # the documents state the value ("within 4 hours"), never the word "length" or "duration"
    assert unknown_terms("what's the minimum reply length", lexicon, tagger) == []
    assert unknown_terms("What is the duration of a reply?", lexicon, tagger) == []
    # a value noun that modifies another noun names a thing the documents may lack
    assert unknown_terms("Do you sell a lifetime licence?", lexicon, tagger) != []


def test_customer_words_for_what_the_documents_name_otherwise(
    lexicon: Lexicon, tagger: SpacyTagger
) -> None:
    assert unknown_terms("Can I cancel my subscription?", lexicon, tagger) == []
