"""Memory across turns: the window overflows, older turns are summarised in the
background, and later prompts carry the stored summary."""

from __future__ import annotations

import time

from frontdesk.memory.summarizer import INSTRUCTIONS
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider
from tests.apphelpers import Running, new_conversation, send, text_of


def _responder(request: ChatRequest) -> str:
    if request.messages[0].content == INSTRUCTIONS:
        return "Customer Dana wants a refund for order 4411 and was told billing decides."
    return f"Noted: {request.messages[-1].content}"


def test_old_turns_become_a_summary_used_later(running: Running) -> None:
    provider = ScriptedProvider(responder=_responder)
    with running(provider) as client:
        cid = new_conversation(client)
        for i in range(6):
            events = send(client, cid, f"message number {i} about my order 4411 refund")
            assert text_of(events).startswith("Noted:")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(r.messages[0].content == INSTRUCTIONS for r in provider.requests):
                break
            time.sleep(0.05)
        time.sleep(0.3)  # the summary is stored right after the provider answers
        send(client, cid, "what did we agree?")
    answers = [r for r in provider.requests if r.messages[0].content != INSTRUCTIONS]
    last = answers[-1]
    assert last.messages[-1].content == "what did we agree?"
    assert last.messages[0].role == "system"
    assert "order 4411 and was told billing decides" in last.messages[0].content
    # the window kept only recent turns verbatim: the first message is not in the prompt
    assert all("message number 0 " not in m.content for m in last.messages[1:])
    # ... and the prompt stayed within the configured budget of the bot (64 tokens of history)
    history_tokens = provider.tokens.count_messages(last.messages[1:-1])
    assert history_tokens <= 64
