"""Public tenant routes: the branding of a site key, and the chat page of a tenant.

``GET /api/site/{site_key}`` answers only public fields (name, greeting, colours, logo,
widget label, message limit). It is readable cross-origin by the tenant's
``widget_origins`` (the widget colours its button with it); other origins get no CORS
headers, so their browsers cannot read it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from frontdesk import web
from frontdesk.errors import NotFound
from frontdesk.services import Services
from frontdesk.tenants.config import TenantConfig
from frontdesk.tenants.resolve import presented_site_key, request_tenant, tenant_services
from frontdesk.tenants.store import TenantRecord

router = APIRouter(prefix="/api", tags=["chat"])


class SiteInfo(BaseModel):
    """What a tenant's web chat and widget show (nothing here is private)."""

    site_key: str
    name: str
    company: str
    greeting: str
    primary_color: str
    header_color: str
    contrast_color: str
    logo_url: str | None
    launcher_label: str
    max_message_chars: int


def contrast_for(color: str) -> str:
    """Black or white text, whichever reads better on ``color`` (WCAG relative luminance)."""

    def channel(hex_pair: str) -> float:
        c = int(hex_pair, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(color[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "#111827" if luminance > 0.35 else "#ffffff"


def site_info(record: TenantRecord, max_message_chars: int) -> SiteInfo:
    config = record.config
    brand = config.branding
    return SiteInfo(
        site_key=record.site_key,
        name=config.display_name,
        company=config.bot.company,
        greeting=config.greeting,
        primary_color=brand.primary_color,
        header_color=brand.header_color or brand.primary_color,
        contrast_color=contrast_for(brand.primary_color),
        logo_url=brand.logo_url,
        launcher_label=brand.launcher_label,
        max_message_chars=max_message_chars,
    )


@router.get("/site/{site_key}", response_model=SiteInfo)
async def site(site_key: str, request: Request, response: Response) -> SiteInfo:
    """The public branding of a tenant's site key (404 for an unknown key)."""
    services: Services = request.app.state.services
    registry = services.tenants
    record = await registry.by_site_key(site_key) if registry is not None else None
    if record is None:
        raise NotFound("unknown site")
    origin = request.headers.get("origin")
    response.headers["Vary"] = "Origin"
    response.headers["Cache-Control"] = "public, max-age=60"
    if origin is not None and origin.lower() in record.config.widget_origins:
        response.headers["Access-Control-Allow-Origin"] = origin
    return site_info(record, services.settings.max_message_chars)


def page_policy(config: TenantConfig | None, default_origins: list[str]) -> str:
    """The chat page's CSP: framed only by the tenant's sites; its logo's host allowed."""
    if config is None:
        return web.content_security_policy(tuple(default_origins))
    policy = web.content_security_policy(tuple(config.widget_origins))
    logo = config.branding.logo_url
    if logo is not None and not logo.startswith("data:"):
        parts = urlsplit(logo)
        policy = policy.replace(
            "img-src 'self' data:", f"img-src 'self' data: https://{parts.netloc}"
        )
    return policy


async def chat_page(request: Request) -> HTMLResponse:
    """``/`` (the default tenant) or ``/?site=KEY`` (a tenant's chat, also the widget's)."""
    record = await request_tenant(request) if presented_site_key(request) else None
    services = await tenant_services(request)
    name = record.config.display_name if record is not None else services.bot.name
    page = web.index_html(
        bot_name=name,
        site_key=record.site_key if record is not None else "",
        storage_key=f"conversation.{record.id}" if record is not None else "conversation",
    )
    csp = page_policy(record.config if record else None, services.settings.widget_origins)
    return HTMLResponse(
        page,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": csp,
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "same-origin",
        },
    )
