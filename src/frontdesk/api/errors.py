"""The one place where exceptions become HTTP responses.

Native routes answer ``{"error": {"code", "message"}}``; routes under ``/v1``
answer OpenAI's error envelope so the official client parses them.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from frontdesk.errors import (
    BudgetExceeded,
    FrontdeskError,
    PayloadTooLarge,
    ProviderError,
    RateLimited,
)

log = logging.getLogger(__name__)

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def _is_openai(request: Request) -> bool:
    return request.url.path.startswith("/v1/")


def error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
    details: Any = None,
) -> JSONResponse:
    if _is_openai(request):
        body: dict[str, Any] = {
            "error": {
                "message": message,
                "type": _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "api_error"),
                "param": None,
                "code": code,
            }
        }
    else:
        body = {"error": {"code": code, "message": message}}
        if details is not None:
            body["error"]["details"] = details
            if isinstance(details, dict) and "limit" in details:
                body["error"]["limit"] = details["limit"]
    return JSONResponse(body, status_code=status, headers=headers)


def _retry_headers(exc: FrontdeskError) -> dict[str, str] | None:
    retry_after = None
    if isinstance(exc, RateLimited | BudgetExceeded | ProviderError):
        retry_after = exc.retry_after
    if retry_after is None:
        return None
    return {"Retry-After": str(max(1, int(retry_after + 0.999)))}


def install_error_handlers(app: FastAPI) -> None:
    async def on_frontdesk(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FrontdeskError)
        if exc.http_status >= 500:
            log.warning("request failed: %s", exc)
        details = {"limit": exc.limit} if isinstance(exc, PayloadTooLarge) else None
        return error_response(
            request,
            exc.http_status,
            exc.code,
            exc.message,
            headers=_retry_headers(exc),
            details=details,
        )

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{loc or 'body'}: {err.get('msg', 'invalid')}")
        status = 422
        if any(err.get("type") == "json_invalid" for err in exc.errors()):
            status = 400
        message = "invalid request: " + "; ".join(problems)
        return error_response(request, status, "invalid_request", message)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            request, exc.status_code, code, str(exc.detail), headers=dict(exc.headers or {})
        )

    async def on_database(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OperationalError)
        if "locked" in str(exc.orig).lower() or "busy" in str(exc.orig).lower():
            # SQLite writers queue up under load: a client should retry, nothing is lost
            log.warning("database busy on %s %s", request.method, request.url.path)
            return error_response(
                request,
                503,
                "database_busy",
                "the service is busy; please retry in a moment",
                headers={"Retry-After": "1"},
            )
        return await on_unexpected(request, exc)

    async def on_pool_timeout(request: Request, exc: Exception) -> JSONResponse:
        # every pooled connection stayed busy past the pool's wait (a burst of turns on a
        # starved machine): nothing was written, so the client can retry the request
        log.warning("database pool exhausted on %s %s", request.method, request.url.path)
        return error_response(
            request,
            503,
            "database_busy",
            "the service is busy; please retry in a moment",
            headers={"Retry-After": "2"},
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(request, 500, "internal_error", "internal server error")

    app.add_exception_handler(FrontdeskError, on_frontdesk)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(OperationalError, on_database)
    app.add_exception_handler(PoolTimeout, on_pool_timeout)
    app.add_exception_handler(Exception, on_unexpected)
