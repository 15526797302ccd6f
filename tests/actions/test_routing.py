from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from frontdesk.actions.fill import fill_arguments, month_of
from frontdesk.actions.render import confirm_text, fill_template, result_text, show
from frontdesk.actions.results import ActionResult
from frontdesk.actions.route_eval import load_cases, report, score_cases
from frontdesk.actions.routing import ActionRouter, personal_request
from frontdesk.knowledge.embedding import LocalEmbedder
from tests.actions.northwind import DANA, ROOT, sample_bot

TODAY = date(2026, 12, 2)


@pytest.fixture(scope="module")
def router() -> ActionRouter:
    bot = sample_bot()
    return ActionRouter(
        LocalEmbedder.load(),
        {a.name: a for a in bot.actions.definitions},
        threshold=bot.actions.route_threshold,
    )


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("How many rows did we sync this month?", "lookup_usage"),
        ("which plan am I on", "lookup_plan"),
        ("Resend my last invoice", "resend_invoice"),
        ("Open a ticket for this failed run", "open_ticket"),
        ("How do I reset my password?", None),
        ("What does the Growth plan cost?", None),
        ("Can I get a refund on my annual plan?", None),
        ("How do I open a support ticket?", None),
        ("We're on Growth.", None),
        ("If we upgrade to Growth today do we pay the full month?", None),
    ],
)
def test_routes(router: ActionRouter, text: str, action: str | None) -> None:
    routed = router.route(text)
    assert (routed.action.name if routed else None) == action


def test_the_held_out_half_routes_nothing_wrongly(router: ActionRouter) -> None:
    """The shipped threshold on the held-out labelled cases and golden-set turns."""
    cases = load_cases(
        Path(ROOT / "eval/actions/routing.jsonl"), Path(ROOT / "eval/answers/sample_kb.jsonl")
    )
    holdout = [c for c in cases if c.split == "holdout"]
    r = report(score_cases(router, holdout), router.threshold)
    assert r.false_routes == 0
    assert r.recall >= 0.9, r


def test_rules() -> None:
    assert personal_request("how many rows have we used so far this month")
    assert personal_request("please file a support ticket about my pipeline failing")
    assert not personal_request(
        "Can you reissue an invoice from 2 months ago with our new address?"
    )
    assert not personal_request("My pipeline keeps failing")


def test_month_filler() -> None:
    assert month_of("how many rows this month", TODAY) == "2026-12"
    assert month_of("and last month?", TODAY) == "2026-11"
    assert month_of("rows in October", TODAY) == "2026-10"
    assert month_of("rows in Oct 2025", TODAY) == "2025-10"
    assert month_of("usage for 2026-09", TODAY) == "2026-09"
    assert month_of("may I see my rows", TODAY) == "2026-12"  # "may" the verb
    assert month_of("rows in January", date(2026, 3, 1)) == "2026-01"
    assert month_of("rows in November", date(2026, 3, 1)) == "2025-11"


def test_filling_and_missing_parameters() -> None:
    actions = {a.name: a for a in sample_bot().actions.definitions}
    ticket = fill_arguments(
        actions["open_ticket"], "Open a ticket, run_8812 failed twice", DANA, TODAY
    )
    assert ticket.arguments == {
        "subject": "Open a ticket, run_8812 failed twice",
        "description": "Open a ticket, run_8812 failed twice",
        "run_id": "run_8812",
    }
    assert ticket.missing == []
    usage = fill_arguments(actions["lookup_usage"], "rows last month?", DANA, TODAY)
    assert usage.arguments == {"month": "2026-11"}


def test_rendering() -> None:
    plan = {a.name: a for a in sample_bot().actions.definitions}["lookup_plan"]
    data = {
        "workspace": "Acme Analytics",
        "plan": "Growth",
        "since": "2026-03-03",
        "seats": 10,
        "seats_used": 7,
        "renews_on": "2027-03-03",
    }
    ok = ActionResult("lookup_plan", "ok", {}, "c1", data=data)
    assert result_text(plan, ok) == (
        "Your workspace Acme Analytics is on the Growth plan (since 3 March 2026), with 7 of 10 "
        "seats in use; it renews on 3 March 2027."
    )
    failed = ActionResult("lookup_plan", "timeout", {}, "c1", error="no answer")
    text = result_text(plan, failed)
    assert "won't guess" in text and "person" in text and "Growth" not in text
    assert "signed in" in result_text(plan, ActionResult("lookup_plan", "needs_identity", {}, "c"))
    assert show(1284310) == "1,284,310" and show(25.7) == "25.7"
    assert fill_template("{a.b} {missing}", {"a": {"b": 1}}) is None
    resend = {a.name: a for a in sample_bot().actions.definitions}["resend_invoice"]
    assert confirm_text(resend, {}).startswith("Shall I email your most recent invoice")
