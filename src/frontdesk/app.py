"""The one app factory. Everything is built in the lifespan; nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from frontdesk import __version__, web
from frontdesk.api import (
    actions,
    admin_stats,
    agent,
    attachments,
    chat,
    docs,
    health,
    knowledge,
    live,
    openai_compat,
    privacy,
    replay,
)
from frontdesk.api import metrics as metrics_route
from frontdesk.api.errors import install_error_handlers
from frontdesk.api.middleware import BodyLimitMiddleware, RequestContextMiddleware
from frontdesk.config import BotConfig, load_bot_config
from frontdesk.gateway.route import GatewayRoute
from frontdesk.media.config import media_body_limits
from frontdesk.providers.base import ChatProvider
from frontdesk.retention.build import policy_from, retention_job
from frontdesk.settings import Settings
from frontdesk.telemetry import Metrics, Tracing
from frontdesk.tenants import pages as tenant_pages
from frontdesk.tenants.leases import BotLeases
from frontdesk.tenants.retention import tenant_retention
from frontdesk.wiring import EscalationOptions, open_services


def create_app(
    settings: Settings,
    *,
    bot: BotConfig | None = None,
    provider: ChatProvider | None = None,
    tracing_override: Tracing | None = None,
    escalation: EscalationOptions | None = None,
) -> FastAPI:
    """Build the ASGI app. ``bot`` and ``provider`` override the configured ones (tests, demos)."""

    metrics = Metrics()
    tracing = tracing_override or Tracing(
        exporter=settings.otel_exporter, capture_content=settings.otel_capture_content
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = bot or load_bot_config(settings.bot_config)
        try:
            async with open_services(
                settings,
                config,
                provider=provider,
                metrics=metrics,
                tracing=tracing,
                escalation_options=escalation,
            ) as services:
                app.state.services = services
                services.deferred.start()
                # one retention job per process, for every tenant; workers claim its runs
                policy = policy_from(settings)  # a tenant record's retention_days first
                if services.tenants is not None:
                    policy = tenant_retention(services.tenants.store, policy)
                retention = retention_job(settings, services.store, services.media, policy=policy)
                retention.start()
                try:
                    yield
                finally:
                    await retention.aclose()
        finally:
            tracing.shutdown()

    app = FastAPI(
        title="Frontdesk",
        version=__version__,
        description="Customer-support chatbot API: native SSE chat and an OpenAI-compatible API.",
        lifespan=lifespan,
        docs_url=None,  # served by api.docs with a Content-Security-Policy
        redoc_url=None,
    )
    install_error_handlers(app)
    body_limits = {"/api/admin/documents": settings.upload_max_bytes + 1024 * 1024}
    body_limits.update(media_body_limits())  # the bot's own media limits apply while reading
    body_limits.update(settings.body_limits)
    app.add_middleware(GatewayRoute)  # innermost: the gateway's completions skip FastAPI
    app.add_middleware(BotLeases)  # a tenant's bot stays open until its responses end
    app.add_middleware(
        BodyLimitMiddleware, default_limit=settings.max_body_bytes, overrides=body_limits
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)  # outermost: logs 413s too
    app.include_router(health.router)
    app.include_router(docs.router(app))
    app.include_router(metrics_route.router)
    app.include_router(chat.router)
    app.include_router(actions.router)  # POST /api/conversations/{id}/actions/{offer}: confirm
    app.include_router(tenant_pages.router)  # GET /api/site/{site_key}: public branding
    app.include_router(attachments.router)
    app.include_router(openai_compat.router)
    app.include_router(agent.router)
    app.include_router(live.router)
    app.include_router(knowledge.viewer)
    app.include_router(knowledge.admin)
    app.include_router(admin_stats.router)  # GET /api/admin/stats (admin role)
    app.include_router(privacy.router)  # conversation export, end-user erasure (admin role)
    app.include_router(replay.router)  # POST /api/admin/turns/{id}/replay (admin role)
    app.include_router(admin_stats.page)  # GET /admin: the dashboard

    app.mount("/static", StaticFiles(directory=web.static_dir()), name="static")

    @app.get("/", include_in_schema=False)
    async def index(request: Request) -> HTMLResponse:
        """The web chat: the default tenant's, or ``/?site=KEY`` a tenant's."""
        return await tenant_pages.chat_page(request)

    @app.get("/widget.js", include_in_schema=False)
    async def widget() -> FileResponse:
        """The embeddable widget: a button that opens the chat in an iframe."""
        return FileResponse(
            web.static_dir() / "widget.js",
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @app.get("/agent", include_in_schema=False)
    async def agent_console() -> FileResponse:
        return FileResponse(
            web.static_dir() / "agent" / "agent.html",
            headers={
                "Cache-Control": "no-cache",
                "Content-Security-Policy": web.CONTENT_SECURITY_POLICY,
                "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer",
            },
        )

    return app
