"""What the sinks receive: the ticket JSON (webhook) and an email (SMTP)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from frontdesk.domain import Conversation, StoredMessage
from frontdesk.escalation.policy import REASON_LABELS
from frontdesk.escalation.tickets import NewTicket

TRANSCRIPT_LIMIT = 50


def ticket_json(
    ticket_id: str,
    new: NewTicket,
    conversation: Conversation,
    transcript: Sequence[StoredMessage],
    *,
    console_url: str | None = None,
) -> dict[str, Any]:
    messages = [m for m in transcript if m.role != "system" and m.content.strip()]
    return {
        "event": "escalation.created",
        "ticket": {
            "id": ticket_id,
            "tenant_id": new.tenant_id,
            "conversation_id": new.conversation_id,
            "reason": new.reason,
            "reason_label": REASON_LABELS.get(new.reason, new.reason),
            "detail": new.detail,
            "topic": new.topic,
            "team": new.team,
            "team_email": new.team_email,
            "console_url": console_url,
        },
        "customer": {
            "conversation_created_at": conversation.created_at.isoformat(),
            "bot_id": conversation.bot_id,
            "metadata": dict(conversation.metadata),
        },
        "transcript": [
            {
                "seq": m.seq,
                "role": m.role,
                "content": m.content,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
            }
            for m in messages[-TRANSCRIPT_LIMIT:]
        ],
    }


def email_json(ticket: dict[str, Any], recipients: Sequence[str]) -> dict[str, Any]:
    info = ticket["ticket"]
    team = info["team"] or "Support"
    lines = [
        f"A customer conversation needs a person ({team}).",
        "",
        f"Reason: {info['reason_label']} — {info['detail']}",
        f"Topic: {info['topic'] or '-'}",
        f"Ticket: {info['id']}",
        f"Conversation: {info['conversation_id']}",
    ]
    if info.get("console_url"):
        lines.append(f"Agent console: {info['console_url']}")
    lines += ["", "Transcript:"]
    for m in ticket["transcript"]:
        lines.append(f"[{m['created_at']}] {m['role']}: {m['content']}")
    return {
        **ticket,
        "email": {
            "to": list(recipients),
            "subject": f"[Frontdesk] {info['reason_label']} ({team}) — ticket {info['id'][:8]}",
            "body": "\n".join(lines) + "\n",
        },
    }
