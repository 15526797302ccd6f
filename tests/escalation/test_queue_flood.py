"""Issue 9, finding 2: an escalation flood must not hide real customers.

Before: 205 anonymous "I want to talk to a human" conversations opened 205 tickets, the next
real customer was "number 206" and the agent queue (first 200, oldest first) never showed
them. Now: duplicates of one requester merge into one ticket, the queue is served by
priority then wait, pages reach every ticket, and the place in the queue is one indexed
count (correct with 10,000 open tickets; the timing is in benchmarks/abuse_load.py).
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert

from frontdesk.domain import Conversation
from frontdesk.escalation.priority import (
    CONTENT,
    REPEAT,
    REQUESTER_FIELD,
    SECURITY,
    VERIFIED,
    Requester,
    has_content,
    ticket_priority,
)
from frontdesk.memory.schema import conversations, tickets
from tests.escalation.conftest import ALICE, OTHER_TENANT, Kit

FLOOD = "I want to talk to a human"


async def _conversation(kit: Kit, requester: Requester) -> Conversation:
    return await kit.store.create_conversation(
        tenant_id="default", bot_id="Testbot", metadata={REQUESTER_FIELD: requester.as_json()}
    )


async def _escalate(kit: Kit, requester: Requester, text: str = FLOOD) -> tuple[str, str]:
    conv = await _conversation(kit, requester)
    message = (await kit.store.add_message(conv.id, role="user", content=text)).message
    decision = await kit.service.on_user_message(conv, message)
    assert not decision.bot_answers
    return conv.id, decision.notice


async def test_a_flood_from_one_address_is_one_ticket_and_a_real_customer_is_first(
    kit: Kit,
) -> None:
    attacker = Requester(address="addr-attacker")
    for _ in range(205):
        await _escalate(kit, attacker)
        kit.clock.advance(1)
    customer = Requester(session="sess-customer", address="addr-customer")
    _, notice = await _escalate(
        kit, customer, "I want to talk to a human, I was charged twice for my invoice"
    )
    assert "number 1 in the queue" in notice
    page = await kit.handoff.queue(ALICE, offset=0, limit=50)
    assert page.waiting == 2  # not 206: the 205 duplicates merged into one ticket
    first, second = page.tickets
    assert first.requester_key == "s:sess-customer"
    assert second.requester_key == "a:addr-attacker"
    assert second.merged == 204
    assert second.priority == REPEAT  # demoted once, on the first merge


async def test_each_merged_duplicate_is_told_where_it_stands_and_stays_with_the_bot(
    kit: Kit,
) -> None:
    who = Requester(session="sess-1", address="addr-1")
    first_id, _ = await _escalate(kit, who)
    second_id, notice = await _escalate(kit, who)
    assert "already have a request open" in notice
    assert "number 1 in the queue" in notice
    second = await kit.store.get_conversation(second_id)
    assert second is not None and second.status == "bot"
    ticket = await kit.tickets.open_for_conversation(first_id)
    assert ticket is not None and ticket.merged == 1


def test_priority_order_verified_security_content_then_anonymous_repeats() -> None:
    anon = Requester(address="a")
    assert ticket_priority(Requester(identity="k"), topic=None, content=False, repeat=False) == (
        VERIFIED
    )
    assert ticket_priority(anon, topic="security", content=False, repeat=False) == SECURITY
    assert ticket_priority(anon, topic=None, content=True, repeat=False) == CONTENT
    assert ticket_priority(anon, topic=None, content=False, repeat=True) == REPEAT
    assert VERIFIED > SECURITY > CONTENT > 0 > REPEAT
    assert not has_content([FLOOD, "hello", "please, a real person now"])
    assert has_content(["someone hacked my account and changed the password"])


async def test_new_sessions_from_one_address_merge_but_a_verified_customer_does_not(
    kit: Kit,
) -> None:
    # a script dropping its cookies gets a new session per conversation: its anonymous
    # escalations still merge, by client address; an API-key identity is never merged
    await _escalate(kit, Requester(session="s-a", address="shared"))
    kit.clock.advance(1)
    await _escalate(kit, Requester(session="s-b", address="shared"))
    kit.clock.advance(1)
    await _escalate(kit, Requester(session="s-c", address="elsewhere"))
    kit.clock.advance(1)
    await _escalate(kit, Requester(identity="key-1", address="shared"))
    page = await kit.handoff.queue(ALICE)
    # the ticket that absorbed a repeat ranks below a first request, though older
    assert [t.requester_key for t in page.tickets] == ["k:key-1", "s:s-c", "s:s-a"]
    assert [t.merged for t in page.tickets] == [0, 0, 1]
    assert page.tickets[2].priority == REPEAT


async def test_an_anonymous_escalation_on_another_topic_is_not_merged_by_address(
    kit: Kit,
) -> None:
    # someone else behind the same address reports a hacked account: a ticket of its own
    await _escalate(kit, Requester(session="s-a", address="office"))
    kit.clock.advance(1)
    _, notice = await _escalate(
        kit,
        Requester(session="s-b", address="office"),
        "I think our account got hacked, there are logins from another country",
    )
    assert "already have a request open" not in notice
    page = await kit.handoff.queue(ALICE)
    assert page.waiting == 2
    assert page.tickets[0].topic == "security"
    assert [t.merged for t in page.tickets] == [0, 0]


async def _bulk_tickets(kit: Kit, count: int) -> list[tuple[int, datetime, str]]:
    """``count`` waiting tickets (random priorities, random times) inserted directly."""
    rng = random.Random(9)
    base = kit.clock()
    conv_rows: list[dict[str, Any]] = []
    ticket_rows: list[dict[str, Any]] = []
    order: list[tuple[int, datetime, str]] = []
    for i in range(count):
        cid, tid = str(uuid.uuid4()), str(uuid.uuid4())
        created = base + timedelta(seconds=rng.randrange(0, 3600))
        priority = rng.choice([REPEAT, 0, CONTENT, SECURITY, VERIFIED])
        conv_rows.append(
            {
                "id": cid,
                "tenant_id": "default",
                "bot_id": "Testbot",
                "status": "waiting_for_agent",
                "metadata": {},
                "summary": None,
                "summary_through_seq": 0,
                "created_at": created,
                "updated_at": created,
            }
        )
        ticket_rows.append(
            {
                "id": tid,
                "tenant_id": "default",
                "conversation_id": cid,
                "status": "waiting",
                "reason": "customer_request",
                "detail": f"ticket {i}",
                "created_at": created,
                "priority": priority,
                "merged": 0,
            }
        )
        order.append((-priority, created, tid))
    async with kit.store.engine.begin() as conn:
        await conn.execute(insert(conversations), conv_rows)
        await conn.execute(insert(tickets), ticket_rows)
    order.sort()
    return order


async def test_ten_thousand_open_tickets_page_completely_and_places_are_exact(kit: Kit) -> None:
    expected = await _bulk_tickets(kit, 10_000)
    seen: list[str] = []
    offset = 0
    while True:
        page = await kit.handoff.queue(ALICE, offset=offset, limit=200)
        assert page.total == 10_000
        seen += [t.id for t in page.tickets]
        offset += len(page.tickets)
        if not page.tickets:
            break
    assert len(seen) == len(set(seen)) == 10_000  # no ticket is invisible, none twice
    assert seen == [tid for _, _, tid in expected]  # priority first, then the longest wait
    for place in (1, 2, 777, 5_000, 9_999, 10_000):
        ticket = await kit.tickets.get(expected[place - 1][2])
        assert ticket is not None
        assert (await kit.handoff.queue_info(ticket)).position == place
    # another tenant's agent sees none of them
    other = await kit.handoff.queue(OTHER_TENANT)
    assert (other.total, other.tickets) == (0, [])


async def test_the_queue_position_query_uses_the_queue_index(kit: Kit) -> None:
    await _bulk_tickets(kit, 50)
    ticket = (await kit.handoff.queue(ALICE, limit=1)).tickets[0]
    if kit.store.engine.dialect.name != "sqlite":
        return
    from sqlalchemy import text

    async with kit.store.engine.connect() as conn:
        plan = (
            await conn.execute(
                text(
                    "EXPLAIN QUERY PLAN SELECT count(*) FROM tickets WHERE tenant_id = :t "
                    "AND status = 'waiting' AND (priority > :p OR (priority = :p AND "
                    "(created_at < :c OR (created_at = :c AND id < :i))))"
                ),
                {"t": "default", "p": ticket.priority, "c": ticket.created_at, "i": ticket.id},
            )
        ).all()
    detail = " ".join(str(row[-1]) for row in plan)
    assert "ix_tickets_queue" in detail, detail
