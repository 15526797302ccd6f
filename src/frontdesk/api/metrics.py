"""Prometheus exposition: behind ``FRONTDESK_METRICS_TOKEN``, or loopback clients only.

Without a token, only a client whose address (socket peer, or the trusted proxies'
header) is loopback gets the metrics: a scraper on the same host, or a sidecar. Others
get 404, as if there were no such page.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Request
from fastapi.responses import Response

from frontdesk.api.auth_deps import bearer_token
from frontdesk.api.client_address import TrustedProxies, client_address
from frontdesk.api.deps import ServicesDep
from frontdesk.errors import NotFound, Unauthorized
from frontdesk.telemetry.metrics import CONTENT_TYPE

router = APIRouter(tags=["observability"])


def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, services: ServicesDep) -> Response:
    settings = services.settings
    if settings.metrics_token is not None:
        token = bearer_token(request) or ""
        expected = settings.metrics_token.get_secret_value()
        if not hmac.compare_digest(token.encode(), expected.encode()):
            raise Unauthorized("/metrics needs 'Authorization: Bearer <FRONTDESK_METRICS_TOKEN>'")
    else:
        trusted = TrustedProxies.parse(settings.trusted_proxies, settings.trusted_proxy_header)
        if not _is_loopback(client_address(request, trusted)):
            raise NotFound("not found")
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
