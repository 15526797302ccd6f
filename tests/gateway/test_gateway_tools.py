"""Tool calling through the gateway's /v1/chat/completions, with the official OpenAI
client: client tools go upstream in each vendor's format (OpenAI and Anthropic
loopback servers), the model's calls come back as OpenAI ``tool_calls`` (streamed
and not), tool results go back up; the bot model refuses client tools."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageFunctionToolCall

from frontdesk.auth.cli import create_key
from frontdesk.config import BotConfig, EndpointConfig, ModelConfig
from frontdesk.settings import Settings
from tests.apphelpers import Running
from tests.providers import fake_anthropic
from tests.providers.fake_openai import API_KEY, FakeOpenAI, tool_call_reply
from tests.threaded import threaded

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "usage_this_month",
            "description": "Rows synced this month.",
            "parameters": {
                "type": "object",
                "properties": {"workspace": {"type": "string"}},
                "required": ["workspace"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "open_ticket",
            "description": "Open a ticket.",
            "parameters": {"type": "object", "properties": {"subject": {"type": "string"}}},
        },
    },
]
WIRE = [
    ("call_u1", "usage_this_month", '{"workspace": "acme-prod"}'),
    ("call_t2", "open_ticket", '{"subject": "Sync failed"}'),
]
QUESTION: list[Any] = [{"role": "user", "content": "How many rows this month? Open a ticket."}]


def _bot(openai_url: str, anthropic_url: str) -> BotConfig:
    return BotConfig(
        name="Gw",
        company="Acme",
        system_prompt="You are {bot_name}.",
        model=ModelConfig(chain=["gpt"]),
        endpoints=[
            EndpointConfig(
                name="gpt",
                dialect="openai",
                model="gpt-4o-mini",
                base_url=openai_url,
                api_key_env="FAKE_VENDOR_KEY",
                max_attempts=1,
            ),
            EndpointConfig(
                name="claude",
                dialect="anthropic",
                model="claude-haiku-4-5",
                base_url=anthropic_url,
                api_key_env="FAKE_ANTHROPIC_KEY",
                max_attempts=1,
            ),
        ],
        version="gw-tools-1",
    )


def _function_calls(message: ChatCompletionMessage) -> list[tuple[str, str, str]]:
    out = []
    for call in message.tool_calls or ():
        assert isinstance(call, ChatCompletionMessageFunctionToolCall)
        out.append((call.id, call.function.name, call.function.arguments))
    return out


def _history(calls: list[dict[str, Any]]) -> list[Any]:
    return [
        *QUESTION,
        {"role": "assistant", "content": None, "tool_calls": calls},
        *[
            {"role": "tool", "tool_call_id": c["id"], "content": json.dumps({"n": i})}
            for i, c in enumerate(calls)
        ],
    ]


def test_tools_pass_through_the_gateway(
    migrated: Settings, running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_VENDOR_KEY", API_KEY)
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", fake_anthropic.API_KEY)
    key = create_key(migrated.resolved_database_url, role="client", name="svc").token
    with (
        threaded(FakeOpenAI()) as gpt,
        threaded(fake_anthropic.FakeAnthropic("Acme synced 1.2M rows.")) as claude,
        running(None, bot=_bot(gpt.base_url, claude.base_url)) as http,
    ):
        client = openai.OpenAI(
            base_url=str(http.base_url).rstrip("/") + "/v1", api_key=key, max_retries=0
        )

        # streamed: two parallel calls, arguments split upstream, one chunk per call here
        gpt.push(tool_call_reply(WIRE, text="Checking.", split=4))
        stream = client.chat.completions.create(
            model="gpt", messages=QUESTION, tools=TOOLS, stream=True
        )
        text, finish = "", None
        calls: dict[int, dict[str, str]] = {}
        for chunk in stream:
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            text += choice.delta.content or ""
            for fragment in choice.delta.tool_calls or ():
                entry = calls.setdefault(fragment.index, {"id": "", "name": "", "arguments": ""})
                entry["id"] += fragment.id or ""
                if fragment.function is not None:
                    entry["name"] += fragment.function.name or ""
                    entry["arguments"] += fragment.function.arguments or ""
            finish = choice.finish_reason or finish
        assert text == "Checking."
        assert finish == "tool_calls"
        assert [(c["id"], c["name"], json.loads(c["arguments"])) for c in calls.values()] == [
            (i, n, json.loads(a)) for i, n, a in WIRE
        ]
        sent = gpt.requests[-1].json()
        assert sent["tools"] == TOOLS
        assert sent["tool_choice"] == "auto"

        # not streamed, named tool choice: only that tool goes up, and it is required
        gpt.push(tool_call_reply(WIRE[:1]))
        resp = client.chat.completions.create(
            model="gpt",
            messages=QUESTION,
            tools=TOOLS,
            tool_choice={"type": "function", "function": {"name": "usage_this_month"}},
        )
        message = resp.choices[0].message
        assert resp.choices[0].finish_reason == "tool_calls"
        assert message.content is None
        assert [(i, n) for i, n, _ in _function_calls(message)] == [("call_u1", "usage_this_month")]
        sent = gpt.requests[-1].json()
        assert [t["function"]["name"] for t in sent["tools"]] == ["usage_this_month"]
        assert sent["tool_choice"] == "required"

        # the results go back up in OpenAI's format and the vendor answers
        history = _history(
            [
                {"id": i, "type": "function", "function": {"name": n, "arguments": a}}
                for i, n, a in WIRE
            ]
        )
        resp = client.chat.completions.create(model="gpt", messages=history, tools=TOOLS)
        assert resp.choices[0].message.content == gpt.default_text
        sent = gpt.requests[-1].json()
        assert sent["messages"][1]["tool_calls"][1]["function"]["name"] == "open_ticket"
        assert sent["messages"][2] == {
            "role": "tool",
            "tool_call_id": "call_u1",
            "content": '{"n": 0}',
        }

        # an Anthropic endpoint: OpenAI tool history in, tool_use/tool_result upstream
        frames = fake_anthropic.tool_use_frames(
            [("toolu_1", "usage_this_month", '{"workspace": "acme-prod"}')], split=3
        )
        claude.push(fake_anthropic.stream_reply(frames))
        resp = client.chat.completions.create(model="claude", messages=QUESTION, tools=TOOLS)
        assert resp.choices[0].finish_reason == "tool_calls"
        claude_calls = resp.choices[0].message.tool_calls or []
        ((call_id, _, arguments),) = _function_calls(resp.choices[0].message)
        assert call_id == "toolu_1"
        assert json.loads(arguments) == {"workspace": "acme-prod"}
        assert claude.requests[-1].json()["tools"][0]["input_schema"]["required"] == ["workspace"]
        history = _history([c.model_dump() for c in claude_calls])
        resp = client.chat.completions.create(model="claude", messages=history, tools=TOOLS)
        assert resp.choices[0].message.content == "Acme synced 1.2M rows."
        up = claude.requests[-1].json()["messages"]
        assert up[1]["content"][0]["type"] == "tool_use"
        assert up[2]["content"][0] == {
            "type": "tool_result",
            "tool_use_id": "toolu_1",
            "content": '{"n": 0}',
        }

        # malformed tool requests are a 422 with a message, never a 500
        no_id: list[Any] = [*QUESTION, {"role": "tool", "content": "x"}]
        with pytest.raises(openai.UnprocessableEntityError, match="tool_call_id"):
            client.chat.completions.create(model="gpt", messages=no_id)
        with pytest.raises(openai.UnprocessableEntityError, match="not in tools"):
            client.chat.completions.create(
                model="gpt",
                messages=QUESTION,
                tools=TOOLS,
                tool_choice={"type": "function", "function": {"name": "nope"}},
            )
        with pytest.raises(openai.UnprocessableEntityError):
            client.chat.completions.create(
                model="gpt",
                messages=QUESTION,
                tools=[{"type": "function", "function": {"name": "has space"}}],
            )

        # the bot model calls its own actions: client tools are refused (422)
        with pytest.raises(openai.UnprocessableEntityError, match="own"):
            client.chat.completions.create(model="frontdesk", messages=QUESTION, tools=TOOLS)
