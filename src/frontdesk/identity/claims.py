"""The verified claims kept with an identity: JSON scalars and short lists, bounded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_CLAIMS = 32
MAX_CHARS = 256


def _value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value[:MAX_CHARS]
    if isinstance(value, list):
        items = [_value(v) for v in value[:16] if isinstance(v, str | int | float | bool)]
        return items
    return None


def safe_claims(claims: Mapping[str, Any]) -> dict[str, Any]:
    """At most :data:`MAX_CLAIMS` claims with scalar or list-of-scalar values (nested objects
    are dropped); names and strings cut to :data:`MAX_CHARS`."""
    out: dict[str, Any] = {}
    for name, value in claims.items():
        if len(out) >= MAX_CLAIMS:
            break
        kept = _value(value)
        if kept is not None or value is None:
            out[str(name)[:64]] = kept
    return out
