"""The hand-off state machine on a real SQLite database."""

from __future__ import annotations

import asyncio

import pytest

from frontdesk.chat.handoff_events import decision_events
from frontdesk.domain import Conversation, StoredMessage
from frontdesk.errors import Conflict, Forbidden, NotFound, ValidationFailed
from frontdesk.escalation.live import LiveEvent, conversation_channel
from frontdesk.escalation.policy import AnswerSignals
from frontdesk.escalation.tickets import NewTicket
from tests.escalation.conftest import ALICE, BOB, OTHER_TENANT, Kit


async def _conversation(kit: Kit) -> Conversation:
    return await kit.store.create_conversation(tenant_id="default", bot_id="Testbot")


async def _say(kit: Kit, conv: Conversation, text: str) -> StoredMessage:
    return (await kit.store.add_message(conv.id, role="user", content=text)).message


async def _status(kit: Kit, conv: Conversation) -> str:
    current = await kit.store.get_conversation(conv.id)
    assert current is not None
    return current.status


async def test_asking_for_a_person_opens_a_ticket_and_stops_the_bot(kit: Kit) -> None:
    conv = await _conversation(kit)
    first = await kit.service.on_user_message(conv, await _say(kit, conv, "How do I export data?"))
    assert first.bot_answers
    msg = await _say(kit, conv, "I want to talk to a person")
    decision = await kit.service.on_user_message(conv, msg)
    assert decision.action == "escalated"
    assert decision.ticket is not None
    assert decision.ticket.reason == "customer_request"
    assert await _status(kit, conv) == "waiting_for_agent"
    assert "number 1 in the queue" in decision.notice
    assert "can't estimate" in decision.notice  # no claim history yet: no invented number
    stored = await kit.store.list_messages(conv.id)
    assert stored[-1].role == "assistant"
    assert stored[-1].content == decision.notice
    assert stored[-1].reply_to == msg.id
    # the next message is held for the agent, with the place in the queue
    held = await kit.service.on_user_message(conv, await _say(kit, conv, "hello?"))
    assert (held.action, held.bot_answers) == ("waiting", False)
    assert held.message_id is None
    assert "number 1" in held.notice


async def test_topic_routes_to_the_contact_and_writes_the_outbox(kit: Kit) -> None:
    conv = await _conversation(kit)
    msg = await _say(kit, conv, "I was charged twice for the Pro plan")
    decision = await kit.service.on_user_message(conv, msg)
    ticket = decision.ticket
    assert ticket is not None
    assert (ticket.reason, ticket.topic, ticket.team) == ("topic", "billing", "Billing team")
    assert "Billing team" in decision.notice
    from frontdesk.escalation.outbox import Outbox

    rows = await Outbox(kit.store.engine, {}).rows(ticket.id)
    assert sorted(r.sink for r in rows) == ["email", "webhook"]
    email = next(r for r in rows if r.sink == "email").payload["email"]
    assert email["to"] == ["billing@acme.example"]
    webhook = next(r for r in rows if r.sink == "webhook").payload
    assert webhook["ticket"]["reason"] == "topic"
    assert webhook["transcript"][-1]["content"] == "I was charged twice for the Pro plan"


async def test_claim_reply_hand_back_and_the_bot_answers_again(kit: Kit) -> None:
    conv = await _conversation(kit)
    decision = await kit.service.on_user_message(conv, await _say(kit, conv, "agent please"))
    assert decision.ticket is not None
    tid = decision.ticket.id
    kit.clock.advance(90)
    claimed = await kit.handoff.claim(tid, ALICE)
    assert (claimed.status, claimed.claimed_by_name) == ("claimed", "alice")
    assert claimed.claimed_at is not None
    assert await _status(kit, conv) == "agent"
    with pytest.raises(Conflict, match="already claimed by alice"):
        await kit.handoff.claim(tid, BOB)
    with pytest.raises(Forbidden):
        await kit.handoff.reply(tid, BOB, "I'll take it")
    reply = await kit.handoff.reply(tid, ALICE, "Hi, I'm Alice. I've reset your sync token.")
    assert (reply.role, reply.metadata["author"]) == ("agent", "alice")
    with_agent = await kit.service.on_user_message(conv, await _say(kit, conv, "thanks!"))
    assert (with_agent.action, with_agent.notice) == ("with_agent", "")
    await kit.handoff.note(tid, ALICE, "Customer on legacy plan; token rotated.")
    back = await kit.handoff.hand_back(tid, ALICE, "Nora will help you from here.")
    assert back.status == "handed_back"
    assert back.handed_back_at is not None
    assert await _status(kit, conv) == "bot"
    again = await kit.service.on_user_message(conv, await _say(kit, conv, "How do I export?"))
    assert again.bot_answers
    roles = [m.role for m in await kit.store.list_messages(conv.id)]
    assert roles.count("agent") == 2
    with pytest.raises(Conflict, match="handed back"):
        await kit.handoff.close(tid, ALICE)
    transcript = await kit.handoff.transcript(tid, ALICE)
    assert [n.content for n in transcript.notes] == ["Customer on legacy plan; token rotated."]


async def test_close_from_the_queue_and_after_claim(kit: Kit) -> None:
    conv = await _conversation(kit)
    d = await kit.service.on_user_message(conv, await _say(kit, conv, "real human please"))
    assert d.ticket is not None
    closed = await kit.handoff.close(d.ticket.id, BOB)
    assert closed.status == "closed"
    assert await _status(kit, conv) == "closed"
    with pytest.raises(Conflict):
        await kit.handoff.claim(d.ticket.id, ALICE)


async def test_actions_need_a_claim_and_the_right_tenant(kit: Kit) -> None:
    conv = await _conversation(kit)
    d = await kit.service.on_user_message(conv, await _say(kit, conv, "talk to a human"))
    assert d.ticket is not None
    with pytest.raises(Conflict, match="claim it first"):
        await kit.handoff.reply(d.ticket.id, ALICE, "hello")
    with pytest.raises(NotFound):
        await kit.handoff.claim(d.ticket.id, OTHER_TENANT)
    with pytest.raises(NotFound):
        await kit.handoff.claim("no-such-ticket", ALICE)
    await kit.handoff.claim(d.ticket.id, ALICE)
    with pytest.raises(ValidationFailed):
        await kit.handoff.reply(d.ticket.id, ALICE, "   ")


async def test_two_agents_claiming_at_once_get_one_ticket(kit: Kit) -> None:
    conv = await _conversation(kit)
    d = await kit.service.on_user_message(conv, await _say(kit, conv, "agent please"))
    assert d.ticket is not None
    results = await asyncio.gather(
        kit.handoff.claim(d.ticket.id, ALICE),
        kit.handoff.claim(d.ticket.id, BOB),
        return_exceptions=True,
    )
    assert sum(1 for r in results if isinstance(r, Conflict)) == 1
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 1


async def test_one_open_ticket_per_conversation(kit: Kit) -> None:
    conv = await _conversation(kit)
    new = NewTicket("default", conv.id, "agent_request", "opened twice")
    first, created = await kit.handoff.open_ticket(conv, new)
    second, created_again = await kit.handoff.open_ticket(conv, new)
    assert (created, created_again) == (True, False)
    assert first.id == second.id


async def test_queue_positions_and_an_estimate_from_recent_claims(kit: Kit) -> None:
    convs = [await _conversation(kit) for _ in range(5)]
    ids = []
    for conv in convs:
        d = await kit.service.on_user_message(conv, await _say(kit, conv, "agent please"))
        assert d.ticket is not None
        ids.append(d.ticket.id)
        kit.clock.advance(1)
    # three tickets claimed 120 s after they were opened: the median claim time is 120 s
    for tid in ids[:3]:
        ticket = await kit.tickets.get(tid)
        assert ticket is not None
        kit.clock.now = ticket.created_at
        kit.clock.advance(120)
        await kit.handoff.claim(tid, ALICE)
    fourth = await kit.tickets.get(ids[3])
    fifth = await kit.tickets.get(ids[4])
    assert fourth is not None and fifth is not None
    kit.clock.now = fifth.created_at
    kit.clock.advance(30)
    info4 = await kit.handoff.queue_info(fourth)
    info5 = await kit.handoff.queue_info(fifth)
    assert (info4.position, info5.position) == (1, 2)
    assert info5.basis == 3
    assert info5.estimated_wait_seconds == 2 * 120 - 30
    assert info4.estimated_wait_seconds == 120 - 31


async def test_live_events_reach_the_customer_channel(kit: Kit) -> None:
    conv = await _conversation(kit)
    seen: list[LiveEvent] = []
    async with kit.bus.subscribe(conversation_channel(conv.id)) as events:
        d = await kit.service.on_user_message(conv, await _say(kit, conv, "agent please"))
        assert d.ticket is not None
        await kit.handoff.claim(d.ticket.id, ALICE)
        await kit.handoff.reply(d.ticket.id, ALICE, "Hello from Alice")
        await kit.handoff.hand_back(d.ticket.id, ALICE)
        while len(seen) < 4:
            seen.append(await asyncio.wait_for(anext(events), 5))
        assert kit.bus.subscriber_count(conversation_channel(conv.id)) == 1
    assert kit.bus.subscriber_count(conversation_channel(conv.id)) == 0
    names = [(e.name, e.data.get("content") or e.data.get("status")) for e in seen]
    # the place in the queue comes with the status; later changes of the queue go to the
    # tenant's queue channel (one event per change), from which each live stream
    # recomputes its own place (tests/api/test_abuse_live.py)
    assert names == [
        ("status", "waiting_for_agent"),
        ("status", "agent"),
        ("message", "Hello from Alice"),
        ("status", "bot"),
    ]
    assert seen[0].data["queue_position"] == 1
    assert seen[1].data["agent"] == "alice"
    assert seen[2].data["role"] == "agent"


async def test_failed_answers_in_a_row_escalate(kit: Kit) -> None:
    conv = await _conversation(kit)
    unsure = AnswerSignals(status="complete", content="I couldn't find that in our documentation.")
    good = AnswerSignals(status="complete", content="Use the Export button [1].")
    assert await kit.service.after_answer(conv, unsure) is None
    assert await kit.service.after_answer(conv, good) is None  # a good answer resets the count
    assert await kit.service.after_answer(conv, unsure) is None
    decision = await kit.service.after_answer(conv, AnswerSignals(status="failed"))
    assert decision is not None
    assert decision.action == "escalated"
    assert decision.trigger is not None
    assert decision.trigger.reason == "repeated_failures"
    assert [type(e).__name__ for e in decision_events(decision)] == ["Escalated", "Notice"]
    assert await _status(kit, conv) == "waiting_for_agent"


async def test_held_turns_are_whole_turns_in_either_protocol(kit: Kit) -> None:
    from frontdesk.chat.handoff_events import held_turn_events
    from frontdesk.events import Notice, TextDelta, TurnDone, TurnStarted

    conv = await _conversation(kit)
    msg = await _say(kit, conv, "human please")
    decision = await kit.service.on_user_message(conv, msg)
    native = held_turn_events(conv.id, msg, decision)
    assert [type(e).__name__ for e in native] == ["TurnStarted", "Escalated", "Notice", "TurnDone"]
    start, done = native[0], native[-1]
    assert isinstance(start, TurnStarted) and isinstance(done, TurnDone)
    assert start.assistant_message_id == done.message_id == decision.message_id
    assert (done.finish_reason, done.content) == ("escalated", decision.notice)
    openai = held_turn_events(conv.id, msg, decision, as_text=True)
    assert not any(isinstance(e, Notice) for e in openai)
    assert [e.text for e in openai if isinstance(e, TextDelta)] == [decision.notice]
