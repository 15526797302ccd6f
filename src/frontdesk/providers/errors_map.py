"""Translate vendor HTTP failures into our exception hierarchy, once."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

from frontdesk.errors import (
    ContextTooLong,
    ProviderAuthFailed,
    ProviderBadRequest,
    ProviderError,
    ProviderOverloaded,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)

_CONTEXT_MARKERS = (
    "context_length_exceeded",
    "maximum context length",
    "prompt is too long",
    "too many tokens",
    "exceeds the context",
)


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    ms = lowered.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = lowered.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value) if value.strip() else None
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def error_from_status(
    status: int,
    message: str,
    *,
    provider: str,
    headers: Mapping[str, str] | None = None,
) -> ProviderError:
    retry_after = parse_retry_after(headers)
    lowered = message.lower()
    kwargs: dict[str, object] = {"provider": provider, "status": status, "retry_after": retry_after}
    if status in (401, 403):
        return ProviderAuthFailed(message, **kwargs)  # type: ignore[arg-type]
    if status == 429:
        return ProviderRateLimited(message, **kwargs)  # type: ignore[arg-type]
    if status in (408, 504):
        return ProviderTimeout(message, **kwargs)  # type: ignore[arg-type]
    if status in (529, 503) and ("overload" in lowered or status == 529):
        return ProviderOverloaded(message, **kwargs)  # type: ignore[arg-type]
    if status >= 500 or status == 409:
        return ProviderUnavailable(message, **kwargs)  # type: ignore[arg-type]
    if status in (400, 413, 422) and any(m in lowered for m in _CONTEXT_MARKERS):
        return ContextTooLong(message, **kwargs)  # type: ignore[arg-type]
    return ProviderBadRequest(message, **kwargs)  # type: ignore[arg-type]
