"""One exception hierarchy for Frontdesk.

Vendor errors are translated into these once, at the provider boundary; the
HTTP mapping lives in one place (``frontdesk.api.errors``).
"""

from __future__ import annotations


class FrontdeskError(Exception):
    """Base of every error Frontdesk raises on purpose."""

    code: str = "internal_error"
    http_status: int = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class ConfigError(FrontdeskError):
    """Settings or bot configuration are invalid; raised at start-up."""

    code = "config_error"


# --- client errors -------------------------------------------------------


class ClientError(FrontdeskError):
    """Something the caller sent is wrong; never a 500."""

    code = "invalid_request"
    http_status = 400


class ValidationFailed(ClientError):
    code = "validation_error"
    http_status = 422


class PayloadTooLarge(ClientError):
    code = "payload_too_large"
    http_status = 413

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


class NotFound(ClientError):
    code = "not_found"
    http_status = 404


class Conflict(ClientError):
    code = "conflict"
    http_status = 409


class Unauthorized(ClientError):
    code = "unauthorized"
    http_status = 401


class Forbidden(ClientError):
    code = "forbidden"
    http_status = 403


class RateLimited(ClientError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BudgetExceeded(ClientError):
    code = "budget_exceeded"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- provider errors -----------------------------------------------------


class ProviderError(FrontdeskError):
    """A chat or embedding provider failed.

    ``retryable`` tells the retry wrapper whether another attempt may succeed;
    ``retry_after`` carries the vendor's Retry-After hint in seconds.
    """

    code = "provider_error"
    http_status = 502
    default_retryable = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        status: int | None = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.status = status
        self.retry_after = retry_after
        self.retryable = self.default_retryable if retryable is None else retryable

    def __str__(self) -> str:
        where = f"[{self.provider}] " if self.provider else ""
        status = f" (HTTP {self.status})" if self.status is not None else ""
        return f"{where}{self.message}{status}"


class ProviderRateLimited(ProviderError):
    code = "provider_rate_limited"
    http_status = 503
    default_retryable = True


class ProviderOverloaded(ProviderError):
    code = "provider_overloaded"
    http_status = 503
    default_retryable = True


class ProviderUnavailable(ProviderError):
    code = "provider_unavailable"
    http_status = 503
    default_retryable = True


class ProviderTimeout(ProviderError):
    code = "provider_timeout"
    http_status = 504
    default_retryable = True


class ProviderAuthFailed(ProviderError):
    code = "provider_auth_failed"
    http_status = 502


class ProviderBadRequest(ProviderError):
    code = "provider_bad_request"
    http_status = 502


class ContextTooLong(ProviderBadRequest):
    code = "context_too_long"


class ContentFiltered(ProviderError):
    code = "content_filtered"
    http_status = 502


class ProviderProtocolError(ProviderError):
    """The vendor answered with something we could not parse."""

    code = "provider_protocol_error"
    http_status = 502
    default_retryable = True


class AllProvidersFailed(ProviderError):
    """Every provider in a fallback chain failed before the first token."""

    code = "all_providers_failed"
    http_status = 503

    def __init__(self, message: str, *, attempts: list[ProviderError]) -> None:
        super().__init__(message, retryable=False)
        self.attempts = attempts
