"""Customer phrasings matched to the documents' words, and alternatives a question picks."""

from __future__ import annotations

import pytest

from frontdesk.answer import paraphrase
from frontdesk.answer.question import answer_type, type_match
from frontdesk.chat.followup import Question


@pytest.mark.parametrize(
    ("question", "concept"),
    [
        ("do i get the rest back?", "refund"),
        ("Is the unused part paid back to us?", "refund"),
        ("Do you warn me before I run out?", "notify"),
        ("Will somebody tell me when it breaks?", "notify"),
        ("When does the new plan kick in?", "takes_effect"),
        ("What if my card payment doesnt go through?", "failure"),
        ("What's the most frequent schedule?", "frequency"),
        ("What's the lifetime of a reset link?", "lifetime"),
    ],
)
def test_customer_phrasings_ask_for_a_concept(question: str, concept: str) -> None:
    assert concept in paraphrase.asked(question)


def test_a_question_in_the_documents_words_asks_no_concept() -> None:
    assert paraphrase.asked("How do refunds work for annual plans?") == frozenset()
    assert paraphrase.search_terms("Can I get a refund?") == []


def test_rephrased_blanks_the_customer_words() -> None:
    rest, concepts = paraphrase.rephrased("do i get the rest back on monthly plans")
    assert concepts == {"refund"}
    assert "back" not in rest and "monthly plans" in rest


def test_units_state_concepts_in_the_documents_words() -> None:
    assert "refund" in paraphrase.stated("Monthly plans are not refunded for partial months.")
    assert "notify" in paraphrase.stated("you receive an email at 80% of your allowance")
    assert "takes_effect" in paraphrase.stated("A downgrade takes effect at the end of the term.")
    assert paraphrase.stated("Pipelines are listed on the dashboard.") == frozenset()


def test_search_text_adds_the_documents_words() -> None:
    question = Question("Is the unused part paid back to us?")
    assert question.search_text.endswith("(refund)")
    follow_up = Question("And on Enterprise?", previous="How long is run history kept?")
    assert follow_up.search_text == "How long is run history kept?\nAnd on Enterprise?"


def test_contrasts_a_unit_that_speaks_only_of_another_alternative() -> None:
    assert paraphrase.contradicts("Do I get money back on my monthly plan?", "Annual plans get …")
    assert not paraphrase.contradicts("monthly plan refunds?", "Monthly and annual plans …")
    assert not paraphrase.contradicts("refunds?", "Annual plans get …")  # nothing picked
    assert paraphrase.contradicts("If I downgrade, when?", "Upgrades take effect immediately.")
    # the section decides when the unit names no alternative
    assert paraphrase.contradicts("the EU IP addresses?", "Allow 44.210.3.17.", "US region")
    # "us" the pronoun is not the US
    assert not paraphrase.contradicts("Will you let us know? EU", "EU workspaces")


def test_a_leading_condition_does_not_hide_what_the_main_clause_asks() -> None:
    assert answer_type("If I downgrade from Growth to Starter, when does it kick in?") == "duration"
    # a main clause that only asks "what happens" keeps the whole question's type
    assert answer_type("If I remove someone, what happens to pipelines they built?") == "steps"


def test_a_when_question_is_answered_by_a_time_without_a_number() -> None:
    assert type_match("duration", "A downgrade takes effect at the end of the period.", "sentence")
    assert type_match("duration", "It is kept for 30 days.", "sentence") == 1.0
    assert type_match("duration", "Owners can change the plan.", "sentence") == 0.0
