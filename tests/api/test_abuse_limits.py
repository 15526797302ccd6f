"""Issue 9, finding 3: anonymous spend is limited per client address and browser session.

Before: conversations were free to create, the only default limit was 20 messages a minute
per conversation (25 new conversations x 1 message were all answered, as were 25 ``/v1``
calls), and the per-user limit keyed on a client-chosen ``metadata.user_id``. Every test
here drives the real app over loopback HTTP; a second client address is 127.0.0.2.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from frontdesk.auth.cli import create_key
from frontdesk.config import LimitsConfig
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import AbuseSettings, Settings
from tests.apphelpers import Running, new_conversation
from tests.conftest import make_bot

OFF = AbuseSettings(
    conversations_per_address=0,
    conversations_per_session=0,
    messages_per_address=0,
    messages_per_session=0,
    escalations_per_address=0,
    escalations_per_session=0,
    live_streams_per_address=0,
    live_streams_per_conversation=0,
    anonymous_daily_tokens_per_session=0,
    anonymous_daily_tokens_per_address=0,
    anonymous_daily_usd_per_session=0,
    anonymous_daily_usd_per_address=0,
)


def limits(**values: object) -> AbuseSettings:
    return OFF.model_copy(update=values)


@contextmanager
def from_address(client: httpx.Client, address: str) -> Iterator[httpx.Client]:
    """A client of the same server whose connections come from another loopback address."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=client.base_url, transport=transport, timeout=30) as other:
        yield other


def answer(client: httpx.Client, cid: str, text: str = "Hello", **headers: str) -> httpx.Response:
    return client.post(
        f"/api/conversations/{cid}/messages",
        json={"content": text, "stream": False},
        headers=headers,
    )


def test_new_conversations_are_limited_per_address(running: Running) -> None:
    with running(ScriptedProvider(), abuse=limits(conversations_per_address=10)) as client:
        codes = [client.post("/api/conversations", json={}).status_code for _ in range(25)]
        assert codes == [201] * 10 + [429] * 15
        refused = client.post("/api/conversations", json={})
        assert int(refused.headers["Retry-After"]) > 0
        assert refused.json()["error"]["code"] == "rate_limited"
        with from_address(client, "127.0.0.2") as neighbour:
            assert neighbour.post("/api/conversations", json={}).status_code == 201


def test_the_server_issues_a_signed_session_cookie_and_json_token(running: Running) -> None:
    with running(ScriptedProvider()) as client:
        created = client.post("/api/conversations", json={})
        assert created.status_code == 201
        token = created.json()["session"]
        cookie = created.headers["set-cookie"]
        assert cookie.startswith(f"frontdesk_session={token}")
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        # the cookie (kept by the client) is a valid session: no new one is issued
        again = client.post("/api/conversations", json={})
        assert again.json()["session"] is None
        # a forged or tampered token is no session: a fresh one is issued
        client.cookies.clear()
        forged = client.post(
            "/api/conversations", json={}, headers={"X-Frontdesk-Session": token[:-2] + "xx"}
        )
        assert forged.json()["session"] not in (None, token)


def test_messages_are_limited_per_session_across_its_conversations(running: Running) -> None:
    abuse = limits(messages_per_session=3, messages_per_address=100)
    with running(ScriptedProvider(), abuse=abuse) as client:
        first = client.post("/api/conversations", json={}).json()
        token = first["session"]
        client.cookies.clear()  # send the session as a header, like the widget iframe
        session = {"X-Frontdesk-Session": token}
        second = client.post("/api/conversations", json={}, headers=session).json()
        codes = [
            answer(client, cid, **session).status_code
            for cid in (first["id"], second["id"], first["id"], second["id"])
        ]
        assert codes == [200, 200, 200, 429]
        # another session of the same address still gets answers
        fresh = client.post("/api/conversations", json={}).json()
        client.cookies.clear()
        assert answer(client, fresh["id"], **{"X-Frontdesk-Session": fresh["session"]}).is_success


def test_messages_are_limited_per_address_without_a_session(running: Running) -> None:
    with running(ScriptedProvider(), abuse=limits(messages_per_address=5)) as client:
        cids = [new_conversation(client) for _ in range(6)]
        client.cookies.clear()
        codes = [answer(client, cid).status_code for cid in cids]
        assert codes == [200] * 5 + [429]


def test_metadata_user_id_keys_nothing_and_an_api_key_identity_does(
    running: Running, migrated: Settings
) -> None:
    bot = make_bot().model_copy(update={"limits": LimitsConfig(user_rpm=2, conversation_rpm=None)})
    widget = create_key(migrated.resolved_database_url, role="client", name="shop").token
    with running(ScriptedProvider(), bot=bot, abuse=OFF) as client:
        # an attacker naming the victim's user id cannot use up the victim's allowance ...
        for _ in range(2):
            cid = client.post("/api/conversations", json={"metadata": {"user_id": "victim"}})
            for _ in range(3):
                assert answer(client, cid.json()["id"]).status_code == 200
        # ... and a caller with an API key is limited as that identity, across conversations
        keyed = {"Authorization": f"Bearer {widget}"}
        keyed_created = client.post("/api/conversations", json={}, headers=keyed)
        assert keyed_created.json()["session"] is None
        ids = [
            client.post("/api/conversations", json={}, headers=keyed).json()["id"] for _ in range(2)
        ]
        codes = [answer(client, cid, **keyed).status_code for cid in (*ids, ids[0])]
        assert codes == [200, 200, 429]
        # a made-up key is no identity: the caller is anonymous (a fresh session is issued)
        forged = {"Authorization": "Bearer fd_not-a-key"}
        client.cookies.clear()
        made_up = client.post("/api/conversations", json={}, headers=forged)
        assert made_up.status_code == 201
        assert made_up.json()["session"] is not None  # keyed callers get no session


def test_the_anonymous_daily_token_budget_refuses_once_spent(running: Running) -> None:
    abuse = limits(anonymous_daily_tokens_per_address=3000)
    # each answer reserves the worst case (window + prompt allowance + answer, ~2.5k) and
    # settles the real usage (~300 tokens here): a few turns fit, then the allowance is used up
    long_answer = ScriptedProvider(responder=lambda _request: "word " * 300)
    with running(long_answer, abuse=abuse) as client:
        statuses = []
        for _ in range(40):
            cid = new_conversation(client)
            statuses.append(answer(client, cid).status_code)
            if statuses[-1] != 200:
                break
        assert statuses[-1] == 429, statuses
        assert len(statuses) > 1  # settled with the actual usage, not the worst case
        cid = new_conversation(client)
        refused = answer(client, cid)
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert int(refused.headers["Retry-After"]) <= 24 * 3600
        with from_address(client, "127.0.0.2") as neighbour:
            assert answer(neighbour, new_conversation(neighbour)).status_code == 200


def test_v1_calls_without_a_conversation_are_limited_per_address(running: Running) -> None:
    with running(ScriptedProvider(), abuse=limits(conversations_per_address=3)) as client:
        body = {"model": "frontdesk", "messages": [{"role": "user", "content": "Hi"}]}
        codes = [client.post("/v1/chat/completions", json=body).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]


@pytest.mark.parametrize("kind", ["address", "session"])
def test_escalations_are_limited(running: Running, kind: str) -> None:
    from tests.escalation.app_setup import escalation_bot

    abuse = (
        limits(escalations_per_address=2)
        if kind == "address"
        else limits(escalations_per_session=2, escalations_per_address=100)
    )
    with running(ScriptedProvider(), bot=escalation_bot(), abuse=abuse) as client:
        codes = []
        for i in range(3):
            if kind == "address":
                client.cookies.clear()
            cid = new_conversation(client)
            codes.append(
                answer(client, cid, f"I want to talk to a human about order {i}").status_code
            )
        assert codes == [200, 200, 429]
