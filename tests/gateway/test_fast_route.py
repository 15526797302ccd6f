"""The pure-ASGI gateway route answers exactly as the FastAPI route does.

A query string sends a request past the fast path (``GatewayRoute`` leaves any request
with one to the app), so each case is sent both ways and the answers compared.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from frontdesk.auth.cli import create_key
from frontdesk.config import BotConfig, EndpointConfig, ModelConfig
from frontdesk.services import Services
from frontdesk.settings import Settings
from frontdesk.tenants.resolve import tenant_services
from tests.apphelpers import Running
from tests.conftest import make_bot

URL = "/v1/chat/completions"
VIA_APP = URL + "?via=app"


def _bot() -> BotConfig:
    bot = make_bot()
    return bot.model_copy(
        update={
            "model": ModelConfig(chain=["scripted"]),
            "endpoints": [
                EndpointConfig(
                    name="scripted", dialect="scripted", model="scripted-1", script=["Hi there."]
                )
            ],
        }
    )


def _stable(body: dict[str, Any]) -> dict[str, Any]:
    """A completion without its per-call id and time."""
    return {k: v for k, v in body.items() if k not in ("id", "created")}


def _frames(text: str) -> list[object]:
    """The data of each SSE frame, chunks without their id and time."""
    out: list[object] = []
    for frame in text.split("\n\n"):
        if frame.startswith("data: "):
            data = frame[len("data: ") :]
            out.append(data if data == "[DONE]" else _stable(json.loads(data)))
    return out


@pytest.fixture
def resolved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths of the requests whose services FastAPI's dependency resolved."""
    seen: list[str] = []

    async def recording(request: Any) -> Services:
        seen.append(str(request.url.path) + ("?" if request.url.query else ""))
        return await tenant_services(request)

    monkeypatch.setattr("frontdesk.api.deps.tenant_services", recording)
    return seen


def test_served_without_fastapi_and_the_same_as_the_route(
    migrated: Settings, running: Running, resolved: list[str]
) -> None:
    key = create_key(migrated.resolved_database_url, role="client", name="svc").token
    auth = {"Authorization": f"Bearer {key}"}
    ask = {"model": "scripted", "messages": [{"role": "user", "content": "hello"}]}
    with running(None, bot=_bot()) as http:
        fast = http.post(URL, json=ask, headers=auth)
        slow = http.post(VIA_APP, json=ask, headers=auth)
        assert fast.status_code == slow.status_code == 200, fast.text
        assert _stable(fast.json()) == _stable(slow.json())
        assert fast.json()["choices"][0]["message"]["content"] == "Hi there."
        assert fast.headers["x-request-id"] and fast.headers["x-frontdesk-provider"] == "scripted"
        # only the request with a query string went through FastAPI's dependencies
        assert resolved and set(resolved) == {URL + "?"}
        before = len(resolved)

        streamed = {**ask, "stream": True, "stream_options": {"include_usage": True}}
        fast = http.post(URL, json=streamed, headers=auth)
        slow = http.post(VIA_APP, json=streamed, headers=auth)
        assert fast.headers["content-type"] == slow.headers["content-type"]
        assert _frames(fast.text) == _frames(slow.text)
        assert _frames(fast.text)[-1] == "[DONE]"
        assert len(resolved) > before and set(resolved) == {URL + "?"}

        metrics = http.get("/metrics").text
        assert 'route="/v1/chat/completions",status="200"' in metrics


CASES: list[tuple[str, dict[str, str], bytes]] = [
    ("malformed JSON", {"content-type": "application/json"}, b'{"model": "scripted",'),
    ("not an object", {"content-type": "application/json"}, b"[1, 2]"),
    ("no messages", {"content-type": "application/json"}, b'{"model": "scripted"}'),
    (
        "empty messages",
        {"content-type": "application/json"},
        b'{"model": "scripted", "messages": []}',
    ),
    (
        "not JSON content",
        {"content-type": "text/plain"},
        b'{"model": "scripted", "messages": [{"role": "user", "content": "x"}]}',
    ),
    (
        "temperature out of range",
        {},
        b'{"model": "scripted", "temperature": 9, "messages": [{"role": "user", "content": "x"}]}',
    ),
    (
        "unknown model",
        {},
        b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}',
    ),
    (
        "tool_choice required without tools",
        {},
        b'{"model": "scripted", "tool_choice": "required",'
        b' "messages": [{"role": "user", "content": "x"}]}',
    ),
    (
        "unsupported role content",
        {},
        b'{"model": "scripted", "messages": [{"role": "user",'
        b' "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}',
    ),
]


@pytest.mark.parametrize(("name", "headers", "raw"), CASES, ids=[c[0] for c in CASES])
def test_refusals_are_the_routes(
    migrated: Settings, running: Running, name: str, headers: dict[str, str], raw: bytes
) -> None:
    key = create_key(migrated.resolved_database_url, role="client", name="svc").token
    sent = {"Authorization": f"Bearer {key}", **headers}
    with running(None, bot=_bot()) as http:
        fast = http.post(URL, content=raw, headers=sent)
        slow = http.post(VIA_APP, content=raw, headers=sent)
    assert fast.status_code == slow.status_code, name
    assert 400 <= fast.status_code < 500, (name, fast.text)
    assert fast.json() == slow.json(), name
    assert "error" in fast.json()


def test_keys_are_refused_and_counted_as_before(migrated: Settings, running: Running) -> None:
    agent = create_key(migrated.resolved_database_url, role="agent", name="al").token
    ask = json.dumps({"model": "scripted", "messages": [{"role": "user", "content": "x"}]})
    with running(None, bot=_bot(), auth_failure_limit=3) as http:

        def post(url: str, token: str | None) -> httpx.Response:
            headers = {"content-type": "application/json"}
            if token is not None:
                headers["Authorization"] = f"Bearer {token}"
            return http.post(url, content=ask, headers=headers)

        assert post(URL, None).json() == post(VIA_APP, None).json()
        assert post(URL, None).status_code == 401
        forbidden = post(URL, agent)
        assert forbidden.status_code == 403
        assert forbidden.json() == post(VIA_APP, agent).json()
        # wrong keys count as failures on either path: the third blocks the address
        assert [post(URL, "fd_wrong").status_code for _ in range(2)] == [401, 401]
        assert post(VIA_APP, "fd_wrong").status_code == 401
        blocked = post(URL, "fd_wrong")
        assert blocked.status_code == 429
        assert "retry-after" in blocked.headers
        assert blocked.json() == post(VIA_APP, "fd_wrong").json()


def test_fast_path_requests_carry_the_route_label(migrated: Settings, running: Running) -> None:
    """The metrics and access log label a request the fast path served with its route (the
    app's routers are not searched per request: FastAPI includes them lazily)."""
    key = create_key(migrated.resolved_database_url, role="client", name="lbl").token
    auth = {"Authorization": f"Bearer {key}"}
    ask = {"model": "scripted", "messages": [{"role": "user", "content": "hello"}]}
    with running(None, bot=_bot()) as http:
        for _ in range(2):
            assert http.post(URL, json=ask, headers=auth).status_code == 200
        metrics = http.get("/metrics").text
    served = [
        line
        for line in metrics.splitlines()
        if line.startswith("frontdesk_http_requests_total{") and 'method="POST"' in line
    ]
    assert served == [
        'frontdesk_http_requests_total{method="POST",route="/v1/chat/completions",status="200"} 2.0'
    ], served
