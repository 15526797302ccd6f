"""Request dependencies: services come from the app's lifespan state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from frontdesk.admission.anonymous import Client
from frontdesk.api.auth_deps import identify
from frontdesk.api.client_address import TrustedProxies, client_address
from frontdesk.api.session import request_session, session_secret
from frontdesk.escalation.priority import REQUESTER_FIELD, Requester, address_key
from frontdesk.services import Services
from frontdesk.tenants.resolve import tenant_services


async def get_services(request: Request) -> Services:
    """The services of the request's tenant (site key, API key, else the default tenant).

    Async on purpose: a sync dependency costs a thread-pool hop per request.
    """
    return await tenant_services(request)


ServicesDep = Annotated[Services, Depends(get_services)]


def request_address(request: Request) -> str:
    """The client address of a request, as a key (the raw IP is not kept)."""
    settings = request.app.state.services.settings
    trusted = TrustedProxies.parse(settings.trusted_proxies, settings.trusted_proxy_header)
    return address_key(client_address(request, trusted), session_secret(settings))


async def get_client(request: Request) -> Client:
    """Who sends this request: client address, signed browser session, API key identity.

    A valid ``Authorization: Bearer <key>`` makes the caller that key's identity. Without
    one, or with a key that is not valid (OpenAI clients always send some key), the caller
    is anonymous: limited per address and per session, never trusted with an identity.
    """
    services = await tenant_services(request)
    identity = None
    principal = await identify(request)  # None: anonymous, the strictest limits apply
    if principal is not None:
        identity = principal.key_id
    return Client(
        tenant=services.chat.tenant_id,
        address=request_address(request),
        session=request_session(request),
        identity=identity,
    )


ClientDep = Annotated[Client, Depends(get_client)]


def with_requester(metadata: dict[str, Any] | None, client: Client) -> dict[str, Any]:
    """The conversation's metadata with the server's record of who opened it.

    Whatever a client put under that field is overwritten: it is not theirs to choose.
    """
    requester = Requester(session=client.session, address=client.address, identity=client.identity)
    return {**(metadata or {}), REQUESTER_FIELD: requester.as_json()}
