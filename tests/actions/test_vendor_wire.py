"""Actions through each vendor's own tool-calling wire format: the real OpenAI, Anthropic and
Gemini adapters against their loopback fakes (which refuse malformed tool histories as the
vendors do), the chat API in front, the loopback Northwind API behind."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import Any, TypeVar

import pytest

from frontdesk.config import EndpointConfig
from frontdesk.demo.northwind_data import sample_accounts, usage
from frontdesk.providers.anthropic_chat import AnthropicChatProvider
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.gemini_chat import GeminiChatProvider
from frontdesk.providers.openai_chat import OpenAIChatProvider
from tests.actions.chatapp import chat_app, identity_env, migrated_settings
from tests.actions.northwind import Northwind
from tests.actions.test_chat_actions import ask, conversation
from tests.apphelpers import text_of
from tests.identity.keys import live_hs256
from tests.providers import fake_anthropic, fake_gemini, fake_openai

F = TypeVar("F")
ROWS = usage(sample_accounts()["u_1001"], "2026-11")["rows_synced"]
ANSWER = f"In 2026-11 your workspace synced {ROWS:,} rows."


@contextmanager
def threaded(factory: Callable[[], AbstractAsyncContextManager[F]]) -> Iterator[F]:
    """A vendor fake on its own event loop in a thread (the app runs in another one)."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        state["stop"] = asyncio.Event()
        state["loop"] = asyncio.get_running_loop()
        async with factory() as fake:
            state["fake"] = fake
            ready.set()
            await state["stop"].wait()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(15), "the vendor fake did not start"
    try:
        yield state["fake"]
    finally:
        state["loop"].call_soon_threadsafe(state["stop"].set)
        thread.join(15)


def openai(fake: fake_openai.FakeOpenAI) -> ChatProvider:
    fake.push(fake_openai.tool_call_reply([("call_9", "lookup_usage", '{"month": "2026-11"}')]))
    fake.push(fake_openai.stream_reply(ANSWER))
    endpoint = EndpointConfig(
        name="openai", dialect="openai", model="gpt-4o-mini", base_url=fake.base_url
    )
    return OpenAIChatProvider(endpoint, api_key=fake_openai.API_KEY)


def anthropic(fake: fake_anthropic.FakeAnthropic) -> ChatProvider:
    call = [("toolu_9", "lookup_usage", '{"month": "2026-11"}')]
    fake.push(fake_anthropic.stream_reply(fake_anthropic.tool_use_frames(call)))
    fake.push(fake_anthropic.stream_reply(fake_anthropic.stream_frames(ANSWER)))
    return AnthropicChatProvider(
        model="claude-haiku-4-5", api_key=fake_anthropic.API_KEY, base_url=fake.base_url
    )


def gemini(fake: fake_gemini.FakeGemini) -> ChatProvider:
    frames = fake_gemini.function_call_frames([("lookup_usage", {"month": "2026-11"})])
    fake.push(fake_gemini.stream_reply(frames))
    fake.push(fake_gemini.stream_reply(fake_gemini.stream_frames(ANSWER)))
    return GeminiChatProvider(
        model="gemini-2.5-flash", api_key=fake_gemini.API_KEY, base_url=fake.base_url
    )


def tool_result_in(vendor: str, body: dict[str, Any]) -> dict[str, Any]:
    """The tool result our loop sent back, in that vendor's shape."""
    if vendor == "openai":
        (tool,) = [m for m in body["messages"] if m["role"] == "tool"]
        assert tool["tool_call_id"] == "call_9"
        result: dict[str, Any] = json.loads(tool["content"])
        return result
    if vendor == "anthropic":
        blocks = [
            b
            for m in body["messages"]
            if isinstance(m["content"], list)
            for b in m["content"]
            if b.get("type") == "tool_result"
        ]
        (block,) = blocks
        assert block["tool_use_id"] == "toolu_9"
        content = block["content"]
        text = content if isinstance(content, str) else content[0]["text"]
        result = json.loads(text)
        return result
    parts = [
        p["functionResponse"]
        for c in body["contents"]
        for p in c["parts"]
        if "functionResponse" in p
    ]
    (part,) = parts
    assert part["name"] == "lookup_usage"
    result = json.loads(part["response"]["output"])
    return result


VENDORS: dict[str, tuple[Callable[[], Any], Callable[[Any], ChatProvider]]] = {
    "openai": (fake_openai.FakeOpenAI, openai),
    "anthropic": (fake_anthropic.FakeAnthropic, anthropic),
    "gemini": (fake_gemini.FakeGemini, gemini),
}


@pytest.mark.parametrize("vendor", list(VENDORS))
def test_a_vendor_model_answers_from_the_action(
    vendor: str,
    tmp_path_factory: pytest.TempPathFactory,
    api: Northwind,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    identity_env(monkeypatch, api.url)
    make_fake, make_provider = VENDORS[vendor]
    with threaded(make_fake) as fake:
        provider = make_provider(fake)
        settings = migrated_settings(tmp_path_factory.mktemp(f"wire-{vendor}"))
        with chat_app(settings, api, provider, mode="generative") as chat:  # type: ignore[arg-type]
            dana = {"X-Frontdesk-Identity": live_hs256()}
            cid = conversation(chat, dana)
            events = ask(chat, cid, "How many rows did we sync in November?", dana)
        first, second = (r.json() for r in fake.requests[-2:])
    assert f"{ROWS:,}" in text_of(events)
    assert [c["user"] for c in api.state.calls] == ["u_1001"]
    assert "lookup_usage" in json.dumps(first["tools"])
    result = tool_result_in(vendor, second)
    assert result["status"] == "ok" and result["result"]["rows_synced"] == ROWS
    assert "acting" not in json.dumps(second).lower()  # the token never reaches the model
