"""The customer's answer to a confirmation button: run the offered change once, or not.

The offer moves ``pending`` → ``running`` in one locked metadata update, so a double click, a
retried request or a second tab cannot run it twice; the company API also gets the offer id as
its ``Idempotency-Key``. The outcome is stored as an assistant message with its own turn
record (the call's audit in ``params.actions``).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from frontdesk.actions.pending import Claim, Decision, Settle
from frontdesk.actions.results import ActionResult
from frontdesk.actions.runtime import ActionCall
from frontdesk.chat.acting import ActionContext, ActionDeps, answer_from
from frontdesk.chat.guarding import TurnGuard
from frontdesk.domain import Citation, Conversation, StoredMessage, TurnRecord, Usage
from frontdesk.errors import Conflict, Forbidden, NotFound
from frontdesk.identity.model import Identity
from frontdesk.memory.base import MemoryStore

CANCELLED = "OK, I haven't changed anything."
EXPIRED = (
    "That offer has expired, so I haven't changed anything. Ask me again if you still want it."
)


@dataclass(frozen=True)
class Decided:
    outcome: str
    """done | failed | cancelled | expired"""
    message: StoredMessage
    citations: list[Citation] = field(default_factory=list)
    audit: dict[str, Any] | None = None


@dataclass(frozen=True)
class Confirmations:
    store: MemoryStore
    actions: ActionDeps
    guard: TurnGuard | None
    config_version: str

    async def decide(
        self,
        conversation: Conversation,
        offer_id: str,
        decision: Decision,
        identity: Identity | None,
    ) -> Decided:
        started = time.perf_counter()
        claim = Claim(
            offer_id, identity.user_id if identity else None, decision, self.actions.clock()
        )
        await self.store.update_conversation_metadata(conversation.id, claim)
        record = claim.record or {}
        if claim.outcome == "unknown":
            raise NotFound(f"no action offer {offer_id} in this conversation")
        if claim.outcome == "forbidden":
            raise Forbidden("this confirmation belongs to another signed-in customer")
        if claim.outcome == "already":
            raise Conflict(f"this action was already {record.get('state', 'answered')}")
        if claim.outcome in ("cancelled", "expired"):
            text = CANCELLED if claim.outcome == "cancelled" else EXPIRED
            message = await self._reply(conversation, record, text, None, started)
            return Decided(str(claim.outcome), message)
        assert identity is not None
        result = await self.actions.runtime.execute(
            ActionCall(
                str(record["action"]),
                dict(record.get("arguments") or {}),
                identity,
                conversation.id,
                call_id=offer_id,  # the company API's Idempotency-Key
            )
        )
        await self.store.update_conversation_metadata(
            conversation.id, Settle(offer_id, result.status)
        )
        action = self.actions.runtime.definition(result.action)
        assert action is not None
        step = answer_from(
            action,
            result,
            ActionContext(
                store=self.store,
                guard=self.guard,
                conversation_id=conversation.id,
                user_message_id=str(record.get("user_message_id", "")),
                assistant_message_id="",
                text="",
                identity=identity,
            ),
        )
        message = await self._reply(
            conversation, record, step.text, result, started, step.citations, step.verdicts
        )
        return Decided("done" if result.ok else "failed", message, step.citations, result.audit())

    async def _reply(
        self,
        conversation: Conversation,
        record: dict[str, Any],
        text: str,
        result: ActionResult | None,
        started: float,
        citations: list[Citation] | None = None,
        verdicts: list[dict[str, Any]] | None = None,
    ) -> StoredMessage:
        """Store the outcome as an assistant message with its turn record."""
        user_message_id = str(record.get("user_message_id") or "")
        pending = await self.store.add_message(
            conversation.id,
            role="assistant",
            content="",
            status="pending",
            reply_to=user_message_id or None,
        )
        message_id = pending.message.id
        turn = TurnRecord(
            id=str(uuid.uuid4()),
            conversation_id=conversation.id,
            user_message_id=user_message_id,
            assistant_message_id=message_id,
            status="complete",
            config_version=self.config_version,
            provider="policy",
            model="action",
            params={
                "answer_mode": "action",
                "finish_reason": "action_confirmed" if result else f"action_{record.get('state')}",
                "actions": [result.audit()] if result else [],
            },
            usage=Usage(),
            prompt_tokens_counted=0,
            ttft_ms=None,
            total_ms=(time.perf_counter() - started) * 1000,
            cost=Decimal(0),
            verdicts=list(verdicts or []),
            created_at=datetime.now(UTC),
        )
        await self.store.complete_turn(
            assistant_message_id=message_id,
            content=text,
            status="complete",
            error=None,
            turn=turn,
        )
        if citations:
            await self.store.merge_message_metadata(
                message_id, {"citations": [asdict(c) for c in citations]}
            )
        stored = await self.store.get_message(message_id)
        assert stored is not None
        return stored
