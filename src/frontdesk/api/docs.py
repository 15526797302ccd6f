"""``/docs`` (Swagger UI) and ``/redoc`` with a Content-Security-Policy.

FastAPI's pages load their scripts and styles from cdn.jsdelivr.net and run one inline
script: the policy allows exactly that CDN and the inline scripts by their sha256 hash
(computed from the page itself, so it follows FastAPI's HTML), and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S)
CDN = "https://cdn.jsdelivr.net"


def policy_for(page: str, *, extra_style: str = "", extra_font: str = "") -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src {CDN} {hashes}; "
        f"style-src {CDN} 'unsafe-inline' {extra_style}; img-src 'self' data: {CDN} "
        f"https://fastapi.tiangolo.com; font-src {CDN} {extra_font}; connect-src 'self'; "
        "worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ).replace("  ", " ")


def _page(html: str, **extra: str) -> HTMLResponse:
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": policy_for(html, **extra),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


def router(app: FastAPI) -> APIRouter:
    """Routes for the docs pages of ``app`` (build it with ``docs_url=None, redoc_url=None``)."""
    docs = APIRouter(include_in_schema=False)
    openapi_url = app.openapi_url or "/openapi.json"
    swagger = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} - API docs")
    redoc = get_redoc_html(openapi_url=openapi_url, title=f"{app.title} - ReDoc")
    swagger_html = bytes(swagger.body).decode()
    redoc_html = bytes(redoc.body).decode()

    @docs.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return _page(swagger_html)

    @docs.get("/redoc")
    async def redoc_ui() -> HTMLResponse:
        return _page(
            redoc_html,
            extra_style="https://fonts.googleapis.com",
            extra_font="https://fonts.gstatic.com",
        )

    return docs
