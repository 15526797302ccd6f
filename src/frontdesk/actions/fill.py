"""Filling an action's parameters from the customer's message and identity (embedded path).

Each parameter's filler comes from the action's ``fill``: ``message`` (the text, cut to the
schema's ``maxLength``), ``month`` (YYYY-MM from "this month", "last month", "in October",
"2026-10"; default this month), ``today``, ``claim:NAME`` (a verified identity claim),
``regex:PATTERN`` (the first match, group 1 if any), ``const:VALUE``. A parameter with no
filler, or whose filler finds nothing, stays unset (its schema default, if any, applies in
the company's API).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from frontdesk.actions.config import ActionConfig
from frontdesk.identity.model import Identity

MONTHS = [
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
]  # fmt: skip
_ISO_MONTH = re.compile(r"\b(20\d\d)-(0[1-9]|1[0-2])\b")
_NAMED = re.compile(
    r"\b(" + "|".join(m[:3] + f"(?:{m[3:]})?" for m in MONTHS) + r")\b(?:\s+(20\d\d))?",
    re.IGNORECASE,
)


def month_of(text: str, today: date) -> str:
    """The month a message speaks of, as YYYY-MM (this month when it names none)."""
    if m := _ISO_MONTH.search(text):
        return f"{m.group(1)}-{m.group(2)}"
    lowered = text.lower()
    if re.search(r"\b(last|previous|past) month\b", lowered):
        year, month = (today.year, today.month - 1) if today.month > 1 else (today.year - 1, 12)
        return f"{year}-{month:02d}"
    # "may" is also a verb: only as a month when capitalised or with a year
    for m in _NAMED.finditer(text):
        word = m.group(1)
        if word.lower() == "may" and not (word[0].isupper() or m.group(2)):
            continue
        number = next(i for i, name in enumerate(MONTHS, 1) if name.startswith(word.lower()[:3]))
        year = int(m.group(2)) if m.group(2) else today.year
        if not m.group(2) and number > today.month:
            year -= 1  # "in November", asked in March: last November
        return f"{year}-{number:02d}"
    return f"{today.year}-{today.month:02d}"


@dataclass(frozen=True, slots=True)
class Filled:
    arguments: dict[str, Any]
    missing: list[str] = field(default_factory=list)
    """Required parameters nothing could fill."""


def fill_arguments(
    action: ActionConfig, text: str, identity: Identity | None, today: date
) -> Filled:
    props: Mapping[str, Any] = action.parameters.get("properties", {})
    args: dict[str, Any] = {}
    for name, how in action.fill.items():
        value = _fill(how, text, identity, today)
        if value is None:
            continue
        schema = props.get(name, {})
        if isinstance(value, str) and isinstance(schema.get("maxLength"), int):
            value = value[: schema["maxLength"]]
        args[name] = value
    missing = [r for r in action.required if r not in args]
    return Filled(args, missing)


def _fill(how: str, text: str, identity: Identity | None, today: date) -> Any:
    if how == "message":
        return text.strip() or None
    if how == "month":
        return month_of(text, today)
    if how == "today":
        return today.isoformat()
    if how.startswith("claim:"):
        return identity.claims.get(how[6:]) if identity is not None else None
    if how.startswith("const:"):
        return how[6:]
    if how.startswith("regex:"):
        m = re.search(how[6:], text)
        if m is None:
            return None
        return m.group(1) if m.groups() else m.group(0)
    return None
