"""Prometheus exposition."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from frontdesk.api.deps import ServicesDep
from frontdesk.telemetry.metrics import CONTENT_TYPE

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    return Response(services.metrics.render(), media_type=CONTENT_TYPE)
