"""Claim-level groundedness: the features of a claim, and contradictions Grounder.score catches."""

from __future__ import annotations

import pytest

from frontdesk.guard.alignment import segment
from frontdesk.guard.base import GuardContext
from frontdesk.guard.claims import conditions, features, names, polarity, quantities
from frontdesk.guard.grounding import Grounder
from frontdesk.guard.output import OutputGuard
from frontdesk.knowledge.embedding import LocalEmbedder

REFUND = (
    "Annual plans can be cancelled for a **full refund within 14 days of purchase**. After 14 "
    "days, cancelling an annual plan gives a **prorated refund** for the whole months remaining "
    "in the term, minus any discount you received for paying annually.\n\n"
    "Monthly plans are not refunded for partial months. When you cancel a monthly plan, it "
    "stays active until the end of the current billing period and is not renewed.\n\n"
    "Charges for rows synced above your plan's allowance are not refundable, except when the "
    "overage was caused by a fault in Northwind Data."
)
OVERAGE = (
    "If you sync more rows than your plan includes, additional rows are billed at $1.50 per "
    "million on Starter and $1.00 per million on Growth. Pipelines are never stopped for going "
    "over; you receive an email at 80% and 100% of your monthly allowance."
)
PLANS = (
    "The Starter plan costs $49 per month, or $490 per year when billed annually (two months "
    "free). It includes 5 active pipelines, 10 million rows synced per month, hourly schedules "
    "at the fastest, and 7 days of run history."
)
REQUEST = (
    "Refunds go back to the original payment method within 5-10 business days. Invoices paid "
    "by bank transfer are refunded by bank transfer."
)
SOURCES = [REFUND, OVERAGE, PLANS, REQUEST]


# --- features ------------------------------------------------------------------------


def _values(text: str) -> list[tuple[float, float, str, str | None]]:
    return [(q.low, q.high, q.kind, q.per) for q in quantities(text)]


def test_prices_are_values_with_currency_and_rate() -> None:
    assert _values("$1.50 per million") == [(1.5, 1.5, "money:usd", "million")]
    assert _values("$2,990 per year") == [(2990.0, 2990.0, "money:usd", "year")]
    assert _values("$49 a month") == [(49.0, 49.0, "money:usd", "month")]
    assert _values("9 EUR") == [(9.0, 9.0, "money:eur", None)]
    one, other = quantities("$1.50 per million and $1.00 per million")
    assert not one.same_value(other)
    assert not quantities("$49 per month")[0].same_value(quantities("$49 per year")[0])


def test_durations_compare_by_length_whatever_the_unit_word() -> None:
    two_weeks, fourteen_days = quantities("two weeks")[0], quantities("14 days")[0]
    assert two_weeks.same_value(fourteen_days)
    assert not quantities("14 days")[0].same_value(quantities("30 days")[0])
    assert not quantities("14 days")[0].same_value(quantities("14 weeks")[0])
    assert _values("a 14-day free trial") == [(14 * 86400.0, 14 * 86400.0, "duration", None)]
    assert _values("a one-hour response target")[0][:3] == (3600.0, 3600.0, "duration")


def test_ranges_lists_percentages_and_magnitudes() -> None:
    assert _values("within 5-10 business days") == [(5 * 86400.0, 10 * 86400.0, "duration", None)]
    assert _values("5 to 10 days")[0][:2] == (5 * 86400.0, 10 * 86400.0)
    five = quantities("5 business days")[0]
    assert not five.same_value(quantities("5-10 business days")[0])
    assert [q.low for q in quantities("after 3, 5 and 7 days")] == [
        3 * 86400.0,
        5 * 86400.0,
        7 * 86400.0,
    ]
    assert _values("a 99.9% uptime SLA") == [(99.9, 99.9, "percent", None)]
    assert _values("10 million rows")[0][0] == 10_000_000
    assert _values("09:00-18:00 CET") == [(540.0, 1080.0, "clock", None)]


def test_codes_and_bare_word_numbers_are_not_quantities() -> None:
    assert quantities("error NW-422 on API v2 with 2FA from 34.90.12.8") == []
    assert quantities("Sign in with one of your recovery codes.") == []
    assert _values("ten recovery codes")[0][0] == 10


def test_polarity_marks_what_is_negated() -> None:
    pol = polarity("Monthly plans are not refunded for partial months.")
    assert pol.has_negation and "refund" in pol.heads
    assert "plan" in pol.positive and "plan" not in pol.negated
    assert "refund" in polarity("Overage charges are non-refundable.").heads
    assert "refund" in polarity("No, you cannot get a refund on your annual plan.").heads
    assert not polarity("No. Northwind Data is a cloud service.").has_negation  # answer particle
    assert polarity("You don't need a credit card.").negated >= {"credit", "card"}
    assert not polarity("Annual plans can be cancelled for a full refund.").has_negation


def test_names_plans_products_roles_and_acronyms() -> None:
    known = frozenset({"Growth", "Starter"})
    assert names("Extra rows cost $1.00 per million on Starter.") == {"Starter"}
    assert "Growth" in names("Growth costs $299 a month.", known)
    assert "Annual" not in names("Annual plans can be cancelled.", known)
    assert {"Microsoft", "Dynamics"} <= names("We support Microsoft Dynamics 365.")
    assert "BigQuery" in names("BigQuery is a destination.")
    assert "role:owner" in names("Only the workspace owner can change the plan.")
    assert "role:admin" not in names("Owners and billing admins see invoices.")


def test_conditions_are_canonical_cues() -> None:
    assert set(conditions("a full refund within 14 days of purchase")) == {"within"}
    assert set(conditions("in the first 14 days")) == {"within"}
    assert set(conditions("not refundable, except when it was our fault")) == {"except"}
    assert set(conditions("unless you ask")) == {"except"}
    assert set(conditions("at least every 90 days")) == {"at_least"}
    assert set(conditions("The link can be used only once.")) == set()


def test_quantities_are_bound_to_the_plan_of_their_clause() -> None:
    feats = features(
        "additional rows are billed at $1.50 per million on Starter and $1.00 per million on Growth"
    )
    assert feats.bound == (frozenset({"Starter"}), frozenset({"Growth"}))
    inherited = features("It includes 5 active pipelines.", inherited=frozenset({"Starter"}))
    assert inherited.bound == (frozenset({"Starter"}),)


def test_segment_keeps_numbers_and_joins_wrapped_lines() -> None:
    text = (
        "Rows cost $1.50 per million on Starter.\nA 99.9% SLA applies to\nEnterprise plans.\n"
        "- Item one\n- Item two"
    )
    parts = [text[a:b] for a, b in segment(text)]
    assert parts[0] == "Rows cost $1.50 per million on Starter."
    assert parts[1] == "A 99.9% SLA applies to\nEnterprise plans."
    assert parts[2:] == ["Item one", "Item two"]  # list markers are not part of the claim


# --- Grounder.score end to end -------------------------------------------------------


@pytest.fixture(scope="module")
def grounder(embedder: LocalEmbedder) -> Grounder:
    return Grounder(embedder=embedder)


def _verdict(grounder: Grounder, answer: str) -> list[tuple[bool, str | None]]:
    return [(s.supported, s.reason) for s in grounder.score(answer, SOURCES).sentences]


def test_the_refund_contradiction_is_flagged(grounder: Grounder) -> None:
    report = grounder.score("No, you cannot get a refund on your annual plan. [1]", SOURCES)
    (sentence,) = report.sentences
    assert not sentence.supported
    assert sentence.reason == "polarity"
    assert report.score == 0.0
    assert sentence.evidence is not None and sentence.evidence[0] == 0  # the refund policy


def test_a_faithful_paraphrase_passes(grounder: Grounder) -> None:
    answer = (
        "Yes: if you cancel an annual plan within 14 days of buying it, you get your money "
        "back in full [1]. Refunds are paid back to your original payment method within 5-10 "
        "business days [4]."
    )
    assert _verdict(grounder, answer) == [(True, None), (True, None)]


def test_a_plan_swapped_price_is_flagged(grounder: Grounder) -> None:
    assert _verdict(grounder, "Extra rows are billed at $1.00 per million on Starter. [2]") == [
        (False, "quantity")
    ]
    assert _verdict(grounder, "Extra rows are billed at $1.00 per million on Growth. [2]") == [
        (True, None)
    ]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("Refunds go back to the original payment method within 5-10 weeks.", "quantity"),
        ("Annual plans can be cancelled for a full refund within 30 days of purchase.", "quantity"),
        ("The Starter plan costs $49 per year.", "quantity"),
        ("Charges for rows above your allowance are refundable.", "polarity"),
        ("Monthly plans are refunded for partial months.", "polarity"),
        ("Annual plans can be cancelled for a full refund after 14 days of purchase.", "condition"),
        ("Annual plans can be cancelled for a full refund.", "condition"),
        ("The Growth plan includes 5 active pipelines and 10 million rows per month.", "name"),
        ("Additional rows are billed at $1.50 per million on Zorblax Pro.", "name"),
    ],
)
def test_contradictions_are_flagged_with_their_reason(
    grounder: Grounder, answer: str, reason: str
) -> None:
    assert _verdict(grounder, answer) == [(False, reason)]


def test_faithful_rewordings_of_numbers_and_plans_pass(grounder: Grounder) -> None:
    for answer in (
        "Starter is $49 a month, or $490 a year if you pay annually.",
        "Starter includes 5 active pipelines and 10 million rows a month.",
        "We don't refund monthly plans for a partial month.",
        "Pipelines are not stopped when you go over your allowance.",
    ):
        assert _verdict(grounder, answer) == [(True, None)], answer


def test_event_conditions_changed_or_dropped_are_flagged(grounder: Grounder) -> None:
    sources = [
        "When a payment fails we email the billing contact and retry after 3, 5 and 7 days. If "
        "all retries fail, the workspace is paused 14 days after the first failure; pipelines "
        "resume as soon as the invoice is paid.",
        "Test with one user before enforcing SSO. Once enforced, members can only sign in "
        "through the identity provider; owners keep a break-glass password login.",
    ]

    def verdict(answer: str) -> list[tuple[bool, str | None]]:
        return [(s.supported, s.reason) for s in grounder.score(answer, sources).sentences]

    assert verdict(
        "If all retries fail, the workspace is paused 14 days after the first failure."
    ) == [(True, None)]
    assert verdict(
        "If all retries fail, the workspace is paused 14 days within the first failure."
    ) == [(False, "condition")]
    assert verdict("Test with one user after enforcing SSO.") == [(False, "condition")]
    assert verdict("Owners keep a break-glass password login.") == [(True, None)]


def test_one_contradicted_sentence_makes_the_answer_low_confidence(grounder: Grounder) -> None:
    answer = (
        "Refunds go back to the original payment method within 5-10 business days [4]. "
        "Invoices paid by bank transfer are refunded by bank transfer [4]. "
        "Monthly plans are refunded for partial months [1]."
    )
    report = grounder.score(answer, SOURCES)
    assert [s.supported for s in report.sentences] == [True, True, False]
    assert report.score > 0.5  # most of the answer is supported ...
    assert "contradicted" in report.low_confidence  # ... but it contradicts the policy
    assert report.to_record()["reasons"] == ["polarity"]
    faithful = grounder.score(answer.rsplit(" Monthly", 1)[0], SOURCES)
    assert "contradicted" not in faithful.low_confidence


def test_the_output_guard_flags_an_answer_with_a_contradiction(embedder: LocalEmbedder) -> None:
    ctx = GuardContext(sources=tuple(SOURCES), question="Can I get a refund on my annual plan?")
    guard = OutputGuard(ctx, grounder=Grounder(embedder=embedder))
    guard.feed("No, you cannot get a refund on your annual plan. [1]")
    final = guard.finish("No, you cannot get a refund on your annual plan. [1]")
    assert final.action == "flag"
    assert final.verdict is not None and "contradicted" in final.verdict.reason


ROLES = (
    "The workspace owner deletes the workspace under Settings > General > Delete workspace. "
    "Admins can invite members and change their roles.\n\n"
    "Attachments are limited to 5 MB each. An invitation link is valid for 7 days."
)


def test_a_role_swapped_inside_the_aligned_sentence_is_caught(grounder: Grounder) -> None:
    swapped = grounder.score(
        "The workspace admin deletes the workspace under Settings > General. [1]", [ROLES]
    )
    assert [s.supported for s in swapped.sentences] == [False]
    faithful = grounder.score(
        "The workspace owner deletes the workspace under Settings > General. [1]", [ROLES]
    )
    assert [s.supported for s in faithful.sentences] == [True]


def test_bounds_and_validity_worded_differently_are_the_same_condition(
    grounder: Grounder,
) -> None:
    report = grounder.score(
        "Each attachment can be at most 5 MB. [1] The invitation link expires after 7 days. [1]",
        [ROLES],
    )
    assert [s.supported for s in report.sentences] == [True, True]
    assert conditions("limited to 5 MB").keys() == conditions("at most 5 MB").keys()


# --- plans named in most sources, bounds, months ---------------------------------------

GROWTH = (
    "The Growth plan costs $299 per month. It includes 50 active pipelines and chat support "
    "during business hours (09:00-18:00 CET and ET)."
)
DISCOUNTS = "Registered nonprofits and accredited schools get 40% off Starter and Growth."
PAGES = "List endpoints return at most 200 items per page; pass the cursor for the next page."
PLAN_SOURCES = [PLANS, GROWTH, OVERAGE, DISCOUNTS, PAGES]


def test_a_plan_named_in_most_sources_is_still_a_plan_that_can_be_swapped(
    grounder: Grounder,
) -> None:
    # Starter and Growth are in most of these sources, yet they are plans, not the company
    for answer in (
        "Nonprofits get 40% off Starter and Enterprise. [4]",
        "Extra rows cost $1.50 per million on Starter and $1.00 per million on Enterprise. [3]",
    ):
        (sentence,) = grounder.score(answer, PLAN_SOURCES).sentences
        assert not sentence.supported and sentence.reason == "name", answer
    report = grounder.score("Nonprofits get 40% off Starter and Growth. [4]", PLAN_SOURCES)
    (faithful,) = report.sentences
    assert faithful.supported


def test_a_time_zone_or_a_month_is_no_rival_of_a_plan(grounder: Grounder) -> None:
    answer = "With Growth you get 50 active pipelines and chat support in business hours. [2]"
    assert all(s.supported for s in grounder.score(answer, PLAN_SOURCES).sentences)
    assert "May" not in names("In May the Growth plan got faster schedules.")


def test_no_more_than_is_a_bound_not_a_negation(grounder: Grounder) -> None:
    assert not polarity("You get no more than 200 items per page.").has_negation
    answer = "List endpoints give you no more than 200 items per page. [5]"
    assert all(s.supported for s in grounder.score(answer, PLAN_SOURCES).sentences)


def test_over_and_above_without_a_number_are_no_condition() -> None:
    assert "more_than" not in conditions("Pipelines are handed over to the owner.")
    assert "more_than" not in conditions("Extra rows above your allowance cost $1.00.")
    assert "more_than" in conditions("Accounts with over 200 members get a discount.")
    assert "more_than" in conditions("more than 5 pipelines")


# --- the sources' sentence index, built once per set of sources ----------------------


def test_sources_are_indexed_once_and_reports_stay_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import frontdesk.guard.grounding as grounding
    from frontdesk.guard.alignment import index_sources as original

    built: list[int] = []

    def counting(sources):  # type: ignore[no-untyped-def]
        built.append(len(sources))
        return original(sources)

    monkeypatch.setattr(grounding, "index_sources", counting)
    answers = [
        "The Starter plan costs $59 per month.",
        "Annual plans get a full refund within 14 days of purchase.",
        "Monthly plans are refunded for partial months.",
    ]
    cached = Grounder()
    uncached = Grounder(cache_size=0)
    for answer in answers:
        assert cached.score(answer, SOURCES) == uncached.score(answer, SOURCES)
    assert built.count(len(SOURCES)) == 1 + len(answers)  # once for cached, each for uncached
    assert cached.score(answers[0], SOURCES[:2]) == uncached.score(answers[0], SOURCES[:2])
    assert built.count(2) == 2  # another set of sources is indexed on its own


def test_passage_caches_give_the_index_of_a_cold_start() -> None:
    """Segments and sentence features are kept per passage; a passage indexed beside other
    passages (other known names) first indexes exactly as it would on its own."""
    import itertools

    from frontdesk.guard import alignment

    def cold(sources: list[str]) -> alignment.SourceSentences:
        for cached in (alignment._segments, alignment._source_names, alignment._cached_features):
            cached.cache_clear()
        return alignment.index_sources(sources)

    # "Growth" opens a sentence: a name only beside a passage naming it mid-sentence
    opening = "Growth costs $99 per month. Growth includes 20 pipelines."
    mid = "Teams on the Growth plan get single sign-on."
    passages = [*SOURCES, opening, mid]
    combos = [list(c) for n in (1, 2, 3) for c in itertools.permutations(passages, n)]
    expected = [cold(c) for c in combos]
    cold(passages)  # warm with every passage, in the company of all the others
    for combo, want in zip(combos, expected, strict=True):
        assert alignment.index_sources(combo) == want
    assert alignment._cached_features.cache_info().hits > 0
