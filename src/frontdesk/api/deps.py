"""Request dependencies: services come from the app's lifespan state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from frontdesk.services import Services


async def get_services(request: Request) -> Services:
    """Async on purpose: a sync dependency costs a thread-pool hop per request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
