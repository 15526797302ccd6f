"""Which tenant a request acts for, and that tenant's view of the app's services.

- A **site key** (``X-Frontdesk-Site`` header, or ``?site=`` where a header cannot be sent:
  page loads, images, links) names a tenant record; an unknown key is a 404.
- Else a valid **API key** of a tenant with a record acts for that tenant.
- Else the request is the ``default`` tenant's (the bot of ``FRONTDESK_BOT_CONFIG``).

A site key and an API key of different tenants together are a 404. A browser request from
another site (an ``Origin`` that is neither this server nor one of the tenant's
``widget_origins``) is refused. The view replaces the bot, chat service, provider chain and
media of :class:`~frontdesk.services.Services`; everything else (the database, hand-off,
limits storage) is shared, and every conversation route checks the conversation belongs
to the view's tenant (:meth:`ChatService.get_conversation`), so another tenant's
conversation answers 404 exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from fastapi import Request
from starlette.requests import HTTPConnection

from frontdesk.api.auth_deps import bearer_token, identify
from frontdesk.errors import Forbidden, NotFound
from frontdesk.services import Services
from frontdesk.tenants.config import DEFAULT_TENANT
from frontdesk.tenants.leases import hold
from frontdesk.tenants.store import TenantRecord

SITE_HEADER = "X-Frontdesk-Site"
SITE_QUERY = "site"
_STATE_KEY = "frontdesk_tenant_services"


def presented_site_key(request: Request) -> str | None:
    return request.headers.get(SITE_HEADER) or request.query_params.get(SITE_QUERY) or None


async def tenant_services(request: Request) -> Services:
    """The services of the request's tenant (resolved once per request)."""
    cached = getattr(request.state, _STATE_KEY, None)
    if isinstance(cached, Services):
        return cached
    services: Services = request.app.state.services
    record = await request_tenant(request)
    view = services if record is None else await services_of(services, record, request)
    setattr(request.state, _STATE_KEY, view)
    return view


async def services_of(
    services: Services, record: TenantRecord, request: HTTPConnection | None = None
) -> Services:
    """``services`` with the bot of ``record``'s tenant (built on first use); with a
    ``request``, the bot is held open until the request ends (:mod:`.leases`)."""
    if services.tenants is None:
        raise NotFound("unknown site")
    if request is None:
        bot = await services.tenants.bot(record)
    else:
        bot, release = await services.tenants.lease(record)
        hold(request, release)
    return replace(
        services,
        bot=bot.bot,
        chat=bot.chat,
        provider=bot.provider,
        media=bot.media,
        gateway=None,  # the gateway serves the operator's endpoints, not a tenant's
    )


async def request_tenant(request: Request) -> TenantRecord | None:
    """The tenant record the request acts for; None: the default tenant."""
    services: Services = request.app.state.services
    registry = services.tenants
    record = None
    site_key = presented_site_key(request)
    if site_key is not None:
        record = await registry.by_site_key(site_key) if registry is not None else None
        if record is None:
            raise NotFound("unknown site")
        check_origin(request, record.config.widget_origins)
    if bearer_token(request) is None:
        return record
    principal = await identify(request)  # an invalid key stays anonymous (routes decide)
    tenant_id = principal.tenant_id if principal is not None else None
    if tenant_id is None:
        return record
    if record is not None:
        if tenant_id != record.id:
            raise NotFound("unknown site")
        return record
    if tenant_id == DEFAULT_TENANT or registry is None:
        return None
    return await registry.by_id(tenant_id)


def check_origin(request: Request, allowed: list[str]) -> None:
    """Refuse a browser request carrying a site key from a site the tenant did not list.

    The chat page's own calls are same-origin: browsers say so in ``Sec-Fetch-Site`` (which
    a page cannot set), so a reverse proxy that rewrites ``Host`` does not break them;
    without that header the ``Origin`` must name this host.
    """
    origin = request.headers.get("origin")
    if origin is None or origin.lower() in allowed:
        return
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site == "same-origin":
        return
    host = request.headers.get("host", "")
    if fetch_site is None and urlsplit(origin).netloc.lower() == host.lower():
        return
    raise Forbidden(f"this site key may not be used from {origin}")
