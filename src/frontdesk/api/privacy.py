"""Privacy routes of the admin API, scoped by the key's tenant (another tenant's
conversation answers 404, like a missing one):

* ``GET /api/admin/conversations/{id}/export``: the conversation as JSON
  (``frontdesk.conversation.v1``: messages, turn records, tickets, attachments' records);
* ``POST /api/admin/users/erase`` ``{"user_id" | "session" | "key_id"}``: erase every
  conversation of one end user of the tenant, attachments included.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from frontdesk.api.auth_deps import AdminDep
from frontdesk.api.deps import ServicesDep
from frontdesk.api.tenancy import tenant_of
from frontdesk.memory.privacy import UserRef
from frontdesk.retention.build import privacy_for

router = APIRouter(prefix="/api/admin", tags=["admin"])

Ref = Annotated[str, StringConstraints(min_length=1, max_length=256, strip_whitespace=True)]
ConversationId = Annotated[str, Path(min_length=1, max_length=80)]


class EraseUser(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: Ref | None = Field(None, description="The integrator's metadata.user_id")
    session: Ref | None = Field(None, description="A browser session id (not the token)")
    key_id: Ref | None = Field(None, description="The API key id that opened conversations")

    @model_validator(mode="after")
    def _one_given(self) -> EraseUser:
        if not (self.user_id or self.session or self.key_id):
            raise ValueError("name the user by user_id, session or key_id")
        return self


class Erasure(BaseModel):
    conversations: int = Field(description="Conversations erased")
    attachments: int = Field(description="Images and recordings erased")


@router.get("/conversations/{conversation_id}/export")
async def export_conversation(
    conversation_id: ConversationId, services: ServicesDep, admin: AdminDep
) -> JSONResponse:
    """Everything stored about one conversation, as one JSON document."""
    privacy = privacy_for(services.store, services.media)
    document: dict[str, Any] = await privacy.export(tenant_of(admin), conversation_id)
    return JSONResponse(
        document,
        headers={
            "Content-Disposition": f'attachment; filename="conversation-{conversation_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/users/erase", response_model=Erasure)
async def erase_user(body: EraseUser, services: ServicesDep, admin: AdminDep) -> Erasure:
    """Erase one end user's conversations (messages, turns, tickets, attachments)."""
    user = UserRef(user_id=body.user_id, session=body.session, key_id=body.key_id)
    erased = await privacy_for(services.store, services.media).erase_user(tenant_of(admin), user)
    return Erasure(**erased.as_json())
