"""The extractive composer on passages of the sample knowledge base, with the real embedder."""

from __future__ import annotations

import pytest

from frontdesk.answer.extractive import ExtractiveComposer, question_parts
from frontdesk.answer.question import answer_type, type_match
from frontdesk.answer.units import Segmenter, spacy_segmenter, units_of
from frontdesk.chat.prompt import Source
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.retrieval import Retriever
from tests.answer.conftest import retrieve_sources

REFUND = Source(
    1,
    "Refund Policy",
    "Annual plans",
    "Annual plans can be cancelled for a **full refund within 14 days of purchase**. After 14 "
    "days, cancelling an annual plan gives a **prorated refund** for the whole months remaining "
    "in the term, minus any discount you received for paying annually.",
)
OVERAGE = Source(
    2,
    "Plans and Pricing",
    "Usage above your plan",
    "If you sync more rows than your plan includes, additional rows are billed at $1.50 per "
    "million on Starter and $1.00 per million on Growth. Pipelines are never stopped for going "
    "over; you receive an email at 80% and 100% of your monthly allowance.",
)
RESET = Source(
    3,
    "Reset Your Password",
    "Reset from the sign-in page",
    "If you forgot your password or your account is locked, you can reset it yourself.\n\n"
    "1. Go to https://app.northwinddata.example/login and click **Forgot password?**\n"
    "2. Enter the email address you sign in with.\n"
    "3. Open the email from no-reply@northwinddata.example and click the reset link.\n"
    "4. Choose a new password of at least 12 characters.",
)
LIMITS = Source(
    4,
    "API Rate Limits",
    "Limits per plan",
    "The REST API limits how many requests each workspace can make.\n\n"
    "| Plan | Requests per minute | Burst |\n|------|---:|---:|\n"
    "| Starter | 60 | 10 |\n| Growth | 600 | 100 |\n| Enterprise | 3,000 | 500 |",
)
FAQ = Source(
    5,
    "Billing Faq",
    "Payments > Which payment methods do you accept?",
    "Q: Which payment methods do you accept?\nA: We accept Visa, Mastercard and American "
    "Express cards on all plans.",
)
SOURCES = [REFUND, OVERAGE, RESET, LIMITS, FAQ]


@pytest.fixture(scope="module")
def segment() -> Segmenter:
    return spacy_segmenter()


@pytest.fixture(scope="module")
def composer(segment: Segmenter) -> ExtractiveComposer:
    return ExtractiveComposer(LocalEmbedder.load(), segment)


def test_sentences_are_never_cut_inside_prices_percentages_or_addresses(
    segment: Segmenter,
) -> None:
    text = (
        "Rows are billed at $1.50 per million. It adds a 99.9% uptime SLA, e.g. for "
        "Enterprise. Email support@northwinddata.example or see https://x.example/v2.1 now."
    )
    assert segment(text) == [
        "Rows are billed at $1.50 per million.",
        "It adds a 99.9% uptime SLA, e.g. for Enterprise.",
        "Email support@northwinddata.example or see https://x.example/v2.1 now.",
    ]


def test_units_keep_steps_rows_and_faq_answers_whole(segment: Segmenter) -> None:
    steps = units_of(3, RESET.title, RESET.section, RESET.text, segment)
    assert [u.kind for u in steps] == ["sentence", "steps"]
    assert steps[1].text.count("\n") == 3
    rows = units_of(4, LIMITS.title, LIMITS.section, LIMITS.text, segment)
    assert "Growth — Requests per minute: 600, Burst: 100" in [u.text for u in rows]
    faq = units_of(5, FAQ.title, FAQ.section, FAQ.text, segment)
    assert [u.text for u in faq] == [
        "We accept Visa, Mastercard and American Express cards on all plans."
    ]


def test_the_sentence_that_answers_is_quoted_with_its_citation(
    composer: ExtractiveComposer,
) -> None:
    got = composer.compose("How much do extra rows cost on Starter?", SOURCES)
    assert got.answered
    assert "$1.50 per million on Starter and $1.00 per million on Growth. [2]" in got.text


def test_a_procedure_is_quoted_as_its_steps(composer: ExtractiveComposer) -> None:
    got = composer.compose("How do I reset my password?", SOURCES)
    assert got.answered
    assert "1. Go to https://app.northwinddata.example/login" in got.text
    assert "4. Choose a new password" in got.text


def test_refund_question_gets_the_refund_rule(composer: ExtractiveComposer) -> None:
    got = composer.compose("I bought the annual plan 10 days ago, do I get my money back?", SOURCES)
    assert "full refund within 14 days of purchase" in got.text
    assert "[1]" in got.text


def test_a_follow_up_uses_the_previous_question(composer: ExtractiveComposer) -> None:
    got = composer.compose(
        "And on Growth?", SOURCES, history_hint="What is the API rate limit on Starter?"
    )
    assert "Growth — Requests per minute: 600" in got.text


def test_nothing_relevant_is_not_an_answer(composer: ExtractiveComposer) -> None:
    got = composer.compose("What is the capital of Peru?", SOURCES)
    assert not got.answered


def test_question_types_and_parts() -> None:
    assert answer_type("How much is the Growth plan?") == "amount"
    assert answer_type("How do I reset my password?") == "steps"
    assert answer_type("How long is the reset link valid?") == "duration"
    assert answer_type("Can I pay by bank transfer?") == "yes_no"
    assert question_parts("Is there a free trial, and do I need a credit card for it?") == [
        "Is there a free trial",
        "do I need a credit card for it",
    ]
    assert question_parts("How do I reset my password?") == ["How do I reset my password"]


TRIAL = Source(
    6,
    "Plans and Pricing",
    "Free trial",
    "Every new workspace starts with a 14-day free trial of the Growth plan. No credit card is "
    "needed to start the trial. At the end of the trial the workspace is paused until you "
    "choose a plan.",
)
OVERAGE_FAULT = Source(
    7,
    "Refund Policy",
    "Overage charges",
    "Charges for rows synced above your plan's allowance are not refundable, except when the "
    "overage was caused by a fault in Northwind Data (for example a pipeline that re-synced the "
    "same data because of a bug on our side). In that case contact support within 30 days of "
    "the invoice and we will credit the excess.",
)


async def test_each_part_of_a_two_part_question_gets_its_own_answer(
    composer: ExtractiveComposer, retriever: Retriever
) -> None:
    question = "Is there a free trial, and do I need a credit card for it?"
    answer = composer.compose(question, await retrieve_sources(retriever, question))
    assert "14-day free trial" in answer.text
    assert "No credit card is needed" in answer.text


def test_a_sentence_that_goes_on_from_the_quoted_one_is_quoted_with_it(
    composer: ExtractiveComposer,
) -> None:
    answer = composer.compose(
        "we got billed overage because your pipeline resynced the same data due to a bug on "
        "your side. what now?",
        [OVERAGE_FAULT, TRIAL],
    )
    assert "except when the overage was caused by a fault" in answer.text
    assert "In that case contact support within 30 days" in answer.text


def test_a_sentence_about_the_page_itself_is_never_the_answer(
    composer: ExtractiveComposer,
) -> None:
    page = Source(
        8,
        "Refund Policy",
        "",
        "We want you to be happy with Northwind Data. This policy explains when you can get "
        "your money back. Annual plans can be cancelled for a full refund within 14 days.",
    )
    answer = composer.compose("When can I get my money back?", [page])
    assert "This policy explains" not in answer.text
    assert "full refund within 14 days" in answer.text


def test_a_question_for_ip_addresses_wants_the_addresses() -> None:
    assert answer_type("Which IP addresses should our firewall allow?") == "network"
    units = units_of(
        9,
        "Connecting Snowflake",
        "Network policies",
        "If your account uses network policies, allow the Northwind Data IP addresses for your "
        "region (see Settings > Network). The addresses are 34.90.12.8 and 34.90.12.9 for the "
        "EU region.",
        spacy_segmenter(),
    )
    assert [type_match("network", u.text, u.kind) for u in units] == [0.0, 1.0]
