"""The verified customer of a request: the headers the web chat and widget send, checked by
the tenant's bot's verifier on every request (never trusted from an earlier one).

* ``X-Frontdesk-Identity: <JWT>`` (``Frontdesk.identify({token})``), or
* ``X-Frontdesk-User-Id`` + ``X-Frontdesk-User-Hash`` (``Frontdesk.identify({userId, userHash})``).

A conversation is bound to the first customer verified in it (an anonymous one is kept when
its visitor signs in); after that every request to it must carry that customer's identity:
another customer's, or none, is refused (403), so a lost, expired or tampered token shows no
one's data.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi import Request

from frontdesk.admission.anonymous import Client
from frontdesk.chat.service import ChatService
from frontdesk.domain import Conversation
from frontdesk.errors import Forbidden
from frontdesk.identity.binding import Bind, bound_user
from frontdesk.identity.model import Identity, Presented

IDENTITY_HEADER = "X-Frontdesk-Identity"
USER_ID_HEADER = "X-Frontdesk-User-Id"
USER_HASH_HEADER = "X-Frontdesk-User-Hash"


def presented(request: Request) -> Presented:
    h = request.headers
    token = h.get(IDENTITY_HEADER, "").strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    return Presented(
        token=token or None,
        user_id=h.get(USER_ID_HEADER, "").strip() or None,
        user_hash=h.get(USER_HASH_HEADER, "").strip() or None,
    )


def request_identity(request: Request, chat: ChatService) -> Identity | None:
    """The customer this request proves to be, else None (anonymous; the reason is logged)."""
    result = chat.identity.verify(presented(request))
    return result if isinstance(result, Identity) else None


def as_customer(client: Client, identity: Identity | None) -> Client:
    """A verified customer is limited and budgeted by their id, not as an anonymous visitor
    (an API key's identity is kept)."""
    if identity is None or client.identity is not None:
        return client
    return replace(client, identity=identity.key)


async def bind_or_refuse(
    chat: ChatService, conversation: Conversation, identity: Identity | None
) -> Conversation:
    """Bind ``conversation`` to ``identity`` (once), or refuse a request that is not its
    customer's."""
    owner = bound_user(conversation.metadata)
    if identity is None:
        if owner is not None:
            raise Forbidden(
                "this conversation belongs to a signed-in customer: sign in again to continue"
            )
        return conversation
    if owner == identity.user_id:
        return conversation
    if owner is not None:
        raise Forbidden("this conversation belongs to another signed-in customer")
    bind = Bind(identity)
    bound = await chat.store.update_conversation_metadata(conversation.id, bind)
    if bind.outcome == "other":  # another request bound it first
        raise Forbidden("this conversation belongs to another signed-in customer")
    return bound
