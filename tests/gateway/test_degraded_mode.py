"""Issue 4: with every provider down the customer is told honestly at once, the question
is queued durably, and the answer appears once a provider is back — across a restart too."""

from __future__ import annotations

import time

import httpx

from frontdesk.app import create_app
from frontdesk.errors import AllProvidersFailed, ProviderUnavailable
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import Settings
from tests.apphelpers import new_conversation, send, text_of
from tests.conftest import make_bot
from tests.servers import serve


class Switchable:
    """A provider whose vendor can be switched off and on."""

    def __init__(self) -> None:
        self.down = True

    def __call__(self, request: ChatRequest) -> Step:
        if self.down:
            outage = ProviderUnavailable("503 from upstream", provider="scripted", status=503)
            return Step(fail_before=AllProvidersFailed("all down", attempts=[outage]))
        return Step(text=f"Real answer to: {request.messages[-1].content}")


def _wait_for_status(client: httpx.Client, cid: str, status: str) -> dict[str, object]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        msgs = client.get(f"/api/conversations/{cid}").json()["messages"]
        if msgs[1]["status"] == status:
            return dict(msgs[1])
        time.sleep(0.1)
    raise AssertionError(f"answer never became {status}: {msgs[1]}")


def test_queued_answer_appears_when_provider_returns(migrated: Settings) -> None:
    vendor = Switchable()
    settings = migrated.model_copy(update={"deferred_interval_seconds": 0.1})
    app = create_app(settings, bot=make_bot(), provider=ScriptedProvider(responder=vendor))
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        cid = new_conversation(client)
        events = send(client, cid, "Where is my invoice?")
        assert "answer will appear right here" in text_of(events)
        assert events[-1].data["status"] == "queued"
        queued = client.get(f"/api/conversations/{cid}").json()["messages"]
        assert queued[0]["content"] == "Where is my invoice?"
        assert queued[1]["status"] in ("queued", "answering")  # the worker may have claimed it
        vendor.down = False
        answer = _wait_for_status(client, cid, "complete")
        assert answer["content"] == "Real answer to: Where is my invoice?"


def test_queued_answer_survives_a_restart(migrated: Settings) -> None:
    vendor = Switchable()
    settings = migrated.model_copy(update={"deferred_interval_seconds": 0.1})
    first = create_app(settings, bot=make_bot(), provider=ScriptedProvider(responder=vendor))
    with serve(first) as url, httpx.Client(base_url=url, timeout=30) as client:
        cid = new_conversation(client)
        send(client, cid, "Cancel my plan please")
        _wait_for_status(client, cid, "queued")
    # the process stopped while the vendor was down; a new one starts with the vendor back
    vendor.down = False
    second = create_app(settings, bot=make_bot(), provider=ScriptedProvider(responder=vendor))
    with serve(second) as url, httpx.Client(base_url=url, timeout=30) as client:
        answer = _wait_for_status(client, cid, "complete")
        assert answer["content"] == "Real answer to: Cancel my plan please"
