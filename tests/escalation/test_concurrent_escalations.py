"""Concurrent escalations of one requester open one ticket (SQLite and the real PostgreSQL).

Before: on PostgreSQL (READ COMMITTED) two escalations from one session in different
conversations at the same moment both found no open ticket of the requester and both
inserted one: two tickets, so a script firing in parallel escaped the merge. Now the
merge check and the insert run under a transaction-scoped advisory lock on the requester
(and the client address for anonymous requesters), so the second waits for the first.
"""

from __future__ import annotations

import asyncio

from frontdesk.domain import Conversation
from frontdesk.escalation.priority import REQUESTER_FIELD, Requester
from tests.escalation.conftest import ALICE, Kit

FLOOD = "I want to talk to a human"
PARALLEL = 12


async def _conversations(kit: Kit, requester: Requester, n: int) -> list[Conversation]:
    made = []
    for _ in range(n):
        conv = await kit.store.create_conversation(
            tenant_id="default", bot_id="Testbot", metadata={REQUESTER_FIELD: requester.as_json()}
        )
        made.append(conv)
    return made


async def _escalate_all(kit: Kit, convs: list[Conversation]) -> list[str]:
    messages = [
        (await kit.store.add_message(c.id, role="user", content=FLOOD)).message for c in convs
    ]
    start = asyncio.Event()

    async def one(conv: Conversation, index: int) -> str:
        await start.wait()
        decision = await kit.service.on_user_message(conv, messages[index])
        assert decision.ticket is not None
        return decision.ticket.id

    tasks = [asyncio.ensure_future(one(c, i)) for i, c in enumerate(convs)]
    await asyncio.sleep(0)
    start.set()
    return list(await asyncio.gather(*tasks))


async def test_parallel_escalations_of_one_session_open_one_ticket(kit: Kit) -> None:
    requester = Requester(session="sess-racer", address="addr-racer")
    convs = await _conversations(kit, requester, PARALLEL)
    ids = await _escalate_all(kit, convs)
    page = await kit.handoff.queue(ALICE, offset=0, limit=50)
    assert page.waiting == 1, [t.conversation_id for t in page.tickets]
    (ticket,) = page.tickets
    assert set(ids) == {ticket.id}
    assert ticket.merged == PARALLEL - 1


async def test_parallel_anonymous_escalations_from_one_address_open_one_ticket(kit: Kit) -> None:
    # a script dropping its cookies: a new session per conversation, one client address
    convs = []
    for i in range(PARALLEL):
        convs += await _conversations(kit, Requester(session=f"s-{i}", address="addr-nat"), 1)
    ids = await _escalate_all(kit, convs)
    page = await kit.handoff.queue(ALICE, offset=0, limit=50)
    assert page.waiting == 1
    assert set(ids) == {page.tickets[0].id}
    assert page.tickets[0].merged == PARALLEL - 1


async def test_parallel_escalations_of_different_requesters_are_not_serialised_into_one(
    kit: Kit,
) -> None:
    convs = []
    for i in range(6):
        convs += await _conversations(kit, Requester(session=f"s-{i}", address=f"a-{i}"), 1)
    ids = await _escalate_all(kit, convs)
    page = await kit.handoff.queue(ALICE, offset=0, limit=50)
    assert page.waiting == 6
    assert len(set(ids)) == 6
