"""``POST /api/admin/turns/{id}/replay`` ``{"endpoint": optional}``: run a recorded turn
again and return how the new answer differs (see :mod:`frontdesk.replay`). POST: it calls
a provider (and may cost money); nothing is stored. Another tenant's turn is a 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.api.auth_deps import AdminDep
from frontdesk.api.deps import ServicesDep
from frontdesk.api.tenancy import tenant_of

router = APIRouter(prefix="/api/admin", tags=["admin"])


class ReplayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    endpoint: str | None = Field(
        None,
        min_length=1,
        max_length=128,
        description="An endpoint of the bot to replay with (default: the one that served)",
    )


@router.post("/turns/{turn_id}/replay")
async def replay_turn(
    turn_id: Annotated[str, Path(min_length=1, max_length=80)],
    services: ServicesDep,
    admin: AdminDep,
    body: ReplayRequest | None = None,
) -> dict[str, Any]:
    """The stored and the replayed answer, a unified diff of their text and changed fields."""
    from frontdesk.replay.build import replayer_for  # the replay engine: on the first replay

    replayer = replayer_for(services)
    endpoint = body.endpoint if body is not None else None
    replay = await replayer.replay(turn_id, endpoint=endpoint, tenant_id=tenant_of(admin))
    return replay.as_json()
