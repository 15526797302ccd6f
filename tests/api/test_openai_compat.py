"""/v1/chat/completions tested with the official openai client, unchanged."""

from __future__ import annotations

import openai
import pytest

from frontdesk.errors import ProviderUnavailable
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.apphelpers import Running
from tests.conftest import make_bot


def _client(base_url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url + "/v1", api_key="unused", max_retries=0)


def test_non_stream_completion(running: Running) -> None:
    provider = ScriptedProvider.from_texts(["Our plans start at the Starter tier."])
    with running(provider) as http:
        client = _client(str(http.base_url).rstrip("/"))
        resp = client.chat.completions.create(
            model="frontdesk",
            messages=[
                {"role": "user", "content": "hello"},
                {"role": "assistant", "content": "Hi! How can I help?"},
                {"role": "user", "content": "What plans do you have?"},
            ],
        )
        assert resp.choices[0].message.content == "Our plans start at the Starter tier."
        assert resp.choices[0].finish_reason == "stop"
        assert resp.usage is not None and resp.usage.completion_tokens == 7
        models = client.models.list()
        assert [m.id for m in models.data] == ["frontdesk"]
    # the client's history reached the provider in order, after the bot's system prompt
    contents = [m.content for m in provider.requests[0].messages[1:]]
    assert contents == ["hello", "Hi! How can I help?", "What plans do you have?"]


def test_stream_with_usage(running: Running) -> None:
    with running(ScriptedProvider.from_texts(["a b c"])) as http:
        client = _client(str(http.base_url).rstrip("/"))
        stream = client.chat.completions.create(
            model="frontdesk",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage, finish = "", None, None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                text += choice.delta.content or ""
                finish = choice.finish_reason or finish
        assert text == "a b c"
        assert finish == "stop"
        assert usage is not None and usage.completion_tokens == 3


def test_continue_stored_conversation(running: Running) -> None:
    provider = ScriptedProvider.from_texts(["first", "second"])
    with running(provider) as http:
        client = _client(str(http.base_url).rstrip("/"))
        raw = client.chat.completions.with_raw_response.create(
            model="frontdesk", messages=[{"role": "user", "content": "one"}]
        )
        cid = raw.headers["x-frontdesk-conversation-id"]
        client.chat.completions.create(
            model="frontdesk",
            messages=[{"role": "user", "content": "two"}],
            extra_headers={"X-Frontdesk-Conversation-Id": cid},
        )
        msgs = http.get(f"/api/conversations/{cid}").json()["messages"]
        assert [m["content"] for m in msgs] == ["one", "first", "two", "second"]
    # the second call used stored memory: the first exchange is in its prompt
    assert [m.content for m in provider.requests[1].messages[1:]] == ["one", "first", "two"]


def test_errors_use_openai_envelope(running: Running) -> None:
    provider = ScriptedProvider(
        steps=[Step(fail_before=ProviderUnavailable("down", provider="scripted", status=503))]
    )
    bot = make_bot().model_copy(update={"degraded_mode": False})
    with running(provider, bot=bot) as http:
        client = _client(str(http.base_url).rstrip("/"))
        with pytest.raises(openai.NotFoundError) as nf:
            client.chat.completions.create(
                model="gpt-nope", messages=[{"role": "user", "content": "x"}]
            )
        assert "frontdesk" in str(nf.value)
        with pytest.raises(openai.UnprocessableEntityError):
            client.chat.completions.create(
                model="frontdesk", messages=[{"role": "user", "content": "  "}]
            )
        with pytest.raises(openai.InternalServerError) as ise:
            client.chat.completions.create(
                model="frontdesk", messages=[{"role": "user", "content": "hi"}]
            )
        assert ise.value.status_code == 503
        with pytest.raises(openai.APIError):
            for _ in client.chat.completions.create(
                model="frontdesk", messages=[{"role": "user", "content": "hi"}], stream=True
            ):
                pass
        bad = http.post("/v1/chat/completions", json={"model": "frontdesk", "messages": []})
        assert bad.status_code == 422
        assert bad.json()["error"]["type"] == "invalid_request_error"


def test_degraded_mode_answers_honestly(running: Running) -> None:
    provider = ScriptedProvider(
        steps=[Step(fail_before=ProviderUnavailable("down", provider="scripted", status=503))]
    )
    with running(provider) as http:
        client = _client(str(http.base_url).rstrip("/"))
        resp = client.chat.completions.create(
            model="frontdesk", messages=[{"role": "user", "content": "hi"}]
        )
        assert "answer will appear right here" in (resp.choices[0].message.content or "")
