"""Answers from action results, without a model: the action's ``answer`` template filled
from the company API's JSON (``{plan}``, ``{usage.rows_synced}``), numbers with thousands
separators and ISO dates as "3 March 2026"; the customer is told honestly when it failed."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from datetime import date
from typing import Any

from frontdesk.actions.config import ActionConfig, template_fields
from frontdesk.actions.results import ActionResult

_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.]+(?:Z|[+-]\d\d:?\d\d)?)?")
_MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
OFFER_PERSON = "Would you like me to connect you with a person from our team?"


def lookup(data: Any, dotted: str) -> Any:
    value = data
    for part in dotted.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, str):
        m = _ISO_DATE.fullmatch(value.strip())
        if m:
            try:
                d = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return value
            return f"{d.day} {_MONTH_NAMES[d.month - 1]} {d.year}"
        return value
    if isinstance(value, list):
        return ", ".join(show(v) for v in value)
    return str(value)


def fill_template(template: str, data: Any) -> str | None:
    """``template`` with each field from ``data``; None when a field is missing."""
    values = {}
    for name in template_fields(template):
        value = lookup(data, name)
        if value is None:
            return None
        values[name] = show(value)
    out: list[str] = []
    for literal, field, _, _ in string.Formatter().parse(template):
        out.append(literal)
        if field is not None:
            out.append(values[field])
    return "".join(out)


def plain_summary(data: Any, limit: int = 8) -> str:
    """A result without a template: its top-level scalar fields."""
    if not isinstance(data, Mapping):
        return show(data)
    parts = [
        f"{k.replace('_', ' ')}: {show(v)}"
        for k, v in data.items()
        if isinstance(v, str | int | float | bool)
    ]
    return "; ".join(parts[:limit]) + "."


def result_text(action: ActionConfig, result: ActionResult) -> str:
    """What the customer reads for a finished call."""
    if not result.ok:
        return failure_text(action, result)
    if action.answer:
        text = fill_template(action.answer, result.data)
        if text is not None:
            return text
    return f"{action.title}: {plain_summary(result.data)}"


def failure_text(action: ActionConfig, result: ActionResult) -> str:
    what = action.title[0].lower() + action.title[1:]
    if result.status == "needs_identity":
        return (
            f"I can look up {what} once you're signed in: please sign in to your account and "
            "open this chat from there. I won't show account details to a visitor I can't verify."
        )
    if result.status == "missing_claims":
        return f"Your sign-in doesn't give me access to {what}. {OFFER_PERSON}"
    if result.status == "invalid_arguments":
        return f"I couldn't work out the details for {what}. {OFFER_PERSON}"
    if result.status == "over_budget":
        return f"I've made as many account requests in this chat as I'm allowed to. {OFFER_PERSON}"
    done = "do that" if result.effect == "change" else f"get {what}"
    return (
        f"I couldn't {done} right now: our account system didn't answer, so I won't guess. "
        f"{OFFER_PERSON}"
    )


def confirm_text(action: ActionConfig, arguments: Mapping[str, Any]) -> str:
    """The question the confirmation button answers."""
    if action.confirm:
        text = fill_template(action.confirm, arguments)
        if text is not None:
            return text
    return f"Shall I go ahead: {action.title.lower()}?"
