"""Passages cut into quotable units: facts stay whole, structure is kept."""

from __future__ import annotations

from frontdesk.answer.units import Segmenter, units_of

PRICING = (
    "## Usage above your plan\n\n"
    "If you sync more rows than your plan includes, additional rows are billed at $1.50 per "
    "million on Starter and $1.00 per million on Growth. Pipelines are never stopped for going "
    "over; you receive an email at 80% and 100% of your monthly allowance.\n"
)


def test_prices_and_percentages_stay_in_their_sentence(segment: Segmenter) -> None:
    units = units_of(1, "Plans and Pricing", "Usage above your plan", PRICING, segment)
    texts = [u.text for u in units]
    assert texts[0].endswith("$1.50 per million on Starter and $1.00 per million on Growth.")
    assert texts[1].startswith("Pipelines are never stopped")
    assert all(u.kind == "sentence" and u.source == 1 for u in units)


def test_email_addresses_stay_whole(segment: Segmenter) -> None:
    text = (
        "Email support@northwinddata.example from the address you use to sign in. Include "
        "your workspace name.\n\nFor security issues, write to security@northwinddata.example."
    )
    texts = [u.text for u in units_of(2, "Contact", "", text, segment)]
    assert texts[0] == "Email support@northwinddata.example from the address you use to sign in."
    assert "write to security@northwinddata.example." in texts[2]


def test_abbreviations_do_not_end_a_unit(segment: Segmenter) -> None:
    text = "Connect a source, e.g. Snowflake or PostgreSQL. Then add a schedule."
    texts = [u.text for u in units_of(1, "Guide", "", text, segment)]
    assert texts == ["Connect a source, e.g. Snowflake or PostgreSQL.", "Then add a schedule."]


def test_numbered_steps_are_one_unit(segment: Segmenter) -> None:
    text = (
        "To reset your password:\n\n"
        "1. Open the sign-in page and click Forgot password.\n"
        "2. Enter the email address of your account.\n"
        "3. Open the link we send you and choose a new password.\n"
    )
    units = units_of(3, "Password reset", "", text, segment)
    steps = [u for u in units if u.kind == "steps"]
    assert len(steps) == 1
    assert steps[0].text.splitlines()[0] == "1. Open the sign-in page and click Forgot password."
    assert len(steps[0].text.splitlines()) == 3


def test_table_row_keeps_its_header(segment: Segmenter) -> None:
    text = (
        "| Plan | Requests per minute | Burst |\n"
        "|------|------|------|\n"
        "| Starter | 60 | 10 |\n"
        "| Growth | 600 | 100 |\n"
    )
    rows = [u.text for u in units_of(1, "Rate limits", "", text, segment)]
    assert rows == [
        "Starter — Requests per minute: 60, Burst: 10",
        "Growth — Requests per minute: 600, Burst: 100",
    ]


def test_faq_answer_without_labels(segment: Segmenter) -> None:
    text = "Q: When am I charged?\nA: Monthly plans are charged on the same day each month."
    (unit,) = units_of(1, "Billing FAQ", "Payments", text, segment)
    assert unit.kind == "faq"
    assert unit.text == "Monthly plans are charged on the same day each month."
    assert "When am I charged?" in unit.context


def test_markdown_emphasis_is_tidied(segment: Segmenter) -> None:
    text = "After 14 days, cancelling gives a **prorated refund** for the *whole* months left."
    (unit,) = units_of(1, "Refund Policy", "Annual plans", text, segment)
    assert (
        unit.text == "After 14 days, cancelling gives a prorated refund for the whole months left."
    )


def test_snake_case_and_emails_are_not_emphasis(segment: Segmenter) -> None:
    text = "Pass the run_id_value field or write to data_team@northwinddata.example today."
    (unit,) = units_of(1, "API", "", text, segment)
    assert unit.text == text


def test_faq_drops_a_bare_yes_that_answers_its_own_question(segment: Segmenter) -> None:
    text = "Q: Can I pay in euros or pounds?\nA: Yes. Prices are in US dollars by default."
    (unit,) = units_of(1, "Billing FAQ", "Currency", text, segment)
    assert unit.text == "Prices are in US dollars by default."
    kept = "Q: Can I pay monthly?\nA: No, annual plans are billed once a year."
    (unit,) = units_of(1, "Billing FAQ", "", kept, segment)
    assert unit.text == "No, annual plans are billed once a year."
