"""The OpenAI wire format (api/openai_wire.py), read by the official ``openai`` client."""

from __future__ import annotations

import json

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

from frontdesk.api.openai_wire import ChunkEncoder, completion_body, error_body, sse_data
from frontdesk.auth.cli import create_key
from frontdesk.domain import ToolCall, Usage
from frontdesk.settings import Settings
from tests.apphelpers import Running
from tests.gateway.test_gateway_mode import _bot
from tests.providers.fake_openai import API_KEY, FakeOpenAI, error_reply, stream_reply
from tests.threaded import threaded

TRICKY = 'Grüße aus Köln — 東京 🙂\n"quoted" \\ back\r\nand a tab\t.'


def _frames(body: str) -> list[str]:
    assert body.endswith("\n\n")
    return [f.removeprefix("data: ") for f in body[:-2].split("\n\n")]


def test_chunks_are_utf8_json_the_openai_types_accept() -> None:
    enc = ChunkEncoder("chatcmpl-1", "gpt-4o-mini", created=1700000000)
    wire = enc.role() + enc.text(TRICKY) + enc.finish("cancelled") + enc.usage(Usage(5, 7))
    assert "東京 🙂" in wire and "\\u" not in wire  # UTF-8, not \\u escapes
    frames = _frames(wire)
    assert all("\n" not in f and "\r" not in f for f in frames)  # one line per frame
    chunks = [ChatCompletionChunk.model_validate_json(f) for f in frames]
    assert {(c.id, c.model, c.created) for c in chunks} == {
        ("chatcmpl-1", "gpt-4o-mini", 1700000000)
    }
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[1].choices[0].delta.content == TRICKY
    assert chunks[2].choices[0].finish_reason == "stop"  # ours → OpenAI's
    assert chunks[3].choices == []
    assert chunks[3].usage is not None
    assert (chunks[3].usage.prompt_tokens, chunks[3].usage.total_tokens) == (5, 12)
    assert enc.done == "data: [DONE]\n\n"


def test_completion_and_error_bodies() -> None:
    body = completion_body("chatcmpl-2", "m", TRICKY, "length", Usage(1, 2), created=1)
    parsed = ChatCompletion.model_validate(body)
    assert parsed.choices[0].message.content == TRICKY
    assert parsed.choices[0].finish_reason == "length"
    error = json.loads(sse_data(error_body("down", "provider_unavailable"))[6:])
    assert error == {
        "error": {
            "message": "down",
            "type": "server_error",
            "param": None,
            "code": "provider_unavailable",
        }
    }


def test_the_gateway_speaks_utf8_to_the_openai_client(
    migrated: Settings, running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    key = create_key(migrated.resolved_database_url, role="client", name="svc").token
    with threaded(FakeOpenAI()) as fake, running(None, bot=_bot(fake.base_url)) as http:
        base = str(http.base_url).rstrip("/") + "/v1"
        client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
        messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hi"}]
        fake.push(stream_reply(TRICKY))
        stream = client.chat.completions.create(
            model="primary",
            messages=messages,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == TRICKY
        assert chunks[-1].usage is not None and chunks[-1].choices == []
        fake.push(stream_reply(TRICKY))
        done = client.chat.completions.create(model="primary", messages=messages)
        assert done.choices[0].message.content == TRICKY
        fake.push(stream_reply(TRICKY))
        raw = httpx.post(
            base + "/chat/completions",
            headers={"Authorization": f"Bearer {key}"},
            json={"model": "primary", "messages": messages, "stream": True},
            timeout=10,
        )
        assert raw.headers["content-type"].startswith("text/event-stream")
        assert "Köln".encode() in raw.content  # the pieces are UTF-8 on the wire
        assert b"\\u00f6" not in raw.content


def test_an_outage_of_the_whole_chain_is_an_http_error_not_an_in_band_one(
    migrated: Settings, running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chain announces each failed attempt as an event before giving up: the
    gateway must still answer with an HTTP error status, not a 200 stream."""
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    key = create_key(migrated.resolved_database_url, role="client", name="svc").token
    bot = _bot("http://placeholder")
    with threaded(FakeOpenAI()) as fake:
        vendor = {"base_url": fake.base_url, "dialect": "openai", "api_key_env": "FAKE_VENDOR_KEY"}
        both = [ep.model_copy(update=vendor) for ep in bot.endpoints]  # two vendor endpoints
        with running(None, bot=bot.model_copy(update={"endpoints": both})) as http:
            base = str(http.base_url).rstrip("/") + "/v1"
            client = openai.OpenAI(base_url=base, api_key=key, max_retries=0)
            fake.push(*[error_reply(503, "down") for _ in range(4)])
            with pytest.raises(openai.APIStatusError) as info:
                client.chat.completions.create(
                    model="primary", messages=[{"role": "user", "content": "hi"}], stream=True
                )
    assert info.value.status_code >= 500
    assert "all_providers_failed" in info.value.response.text


def test_tool_call_chunks_and_bodies_the_openai_types_accept() -> None:
    calls = [
        ToolCall("call_1", "usage_this_month", '{"workspace": "köln"}'),
        ToolCall("call_2", "open_ticket", "{}"),
    ]
    enc = ChunkEncoder("chatcmpl-2", "gpt-4o-mini", created=1700000000)
    wire = enc.role() + enc.tool_call(0, calls[0]) + enc.tool_call(1, calls[1])
    wire += enc.finish("tool_calls", called=True)
    chunks = [ChatCompletionChunk.model_validate_json(f) for f in _frames(wire)]
    fragments = [f for c in chunks for f in c.choices[0].delta.tool_calls or ()]
    assert [(f.index, f.id, f.type) for f in fragments] == [
        (0, "call_1", "function"),
        (1, "call_2", "function"),
    ]
    assert [(f.function.name, f.function.arguments) for f in fragments if f.function] == [
        (c.name, c.arguments) for c in calls
    ]
    assert chunks[-1].choices[0].finish_reason == "tool_calls"
    # a bot turn that ran actions server-side never says tool_calls
    assert json.loads(_frames(enc.finish("tool_calls"))[0])["choices"][0]["finish_reason"] == (
        "stop"
    )
    body = completion_body("chatcmpl-3", "m", "", "tool_calls", Usage(3, 4), tool_calls=calls)
    completion = ChatCompletion.model_validate(body)
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    assert [c.id for c in message.tool_calls or ()] == ["call_1", "call_2"]
    plain = completion_body("chatcmpl-4", "m", "Hi", "tool_calls", None)
    assert plain["choices"][0]["finish_reason"] == "stop"
    assert plain["choices"][0]["message"] == {"role": "assistant", "content": "Hi"}
