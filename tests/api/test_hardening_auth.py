"""Issue 9 findings 1: weak admin tokens refused at start-up, failed logins throttled per
client address, the client address read from proxy headers only behind trusted proxies."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from typer.testing import CliRunner

from frontdesk.api.client_address import TrustedProxies, client_address
from frontdesk.app import create_app
from frontdesk.cli import app as cli_app
from frontdesk.errors import ConfigError
from frontdesk.settings import DEV_ADMIN_TOKEN, Settings, load_settings
from tests.conftest import make_bot
from tests.servers import free_port

STRONG = "Xq7-vR2pL9_mK4tZ8wB1nC6yD3hF5jG0"


def _scope(peer: str, headers: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 50000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers or []],
    }


def test_without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() -> None:
    scope = _scope("203.0.113.7", [("X-Forwarded-For", "1.2.3.4"), ("Forwarded", "for=5.6.7.8")])
    assert client_address(scope, TrustedProxies()) == "203.0.113.7"


def test_behind_a_trusted_proxy_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    trusted = TrustedProxies.parse(["10.0.0.0/8"])
    # the client wrote "6.6.6.6" itself; the proxy appended the real peer 198.51.100.9
    scope = _scope("10.0.0.2", [("X-Forwarded-For", "6.6.6.6, 198.51.100.9, 10.0.0.3")])
    assert client_address(scope, trusted) == "198.51.100.9"
    # an untrusted peer's header is ignored
    assert client_address(_scope("198.51.100.1", [("X-Forwarded-For", "1.1.1.1")]), trusted) == (
        "198.51.100.1"
    )
    # only the configured header is read: Forwarded passes through the proxy unchanged
    spoof = _scope("10.0.0.2", [("Forwarded", "for=7.7.7.7"), ("X-Forwarded-For", "9.9.9.9")])
    assert client_address(spoof, trusted) == "9.9.9.9"


def test_rfc7239_forwarded_header() -> None:
    trusted = TrustedProxies.parse(["::1", "127.0.0.0/8"], "forwarded")
    scope = _scope("::1", [("Forwarded", 'for=1.2.3.4, for="[2001:db8::5]:443";proto=https')])
    assert client_address(scope, trusted) == "2001:db8::5"
    garbage = _scope("127.0.0.1", [("Forwarded", "for=_hidden")])
    assert client_address(garbage, trusted) == "127.0.0.1"


def test_bad_trusted_proxy_setting_stops_start_up() -> None:
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        load_settings(env="test", trusted_proxies=["10.0.0.0/33"])


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"env": "production"}, "production"),
        ({"env": "development", "host": "0.0.0.0"}, "not a loopback"),
        ({"env": "production", "admin_token": "x"}, "at least 32"),
        ({"env": "development", "admin_token": "short-token"}, "at least 32"),
        ({"env": "production", "admin_token": "a" * 40}, "repetitive"),
        ({"env": "production", "admin_token": "abababababababababababababababab"}, "repetitive"),
    ],
)
def test_weak_admin_tokens_stop_start_up(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(**overrides)


def test_acceptable_admin_tokens() -> None:
    assert load_settings(env="development").admin_token.get_secret_value() == DEV_ADMIN_TOKEN
    load_settings(env="development", host="::1")
    load_settings(env="production", host="0.0.0.0", admin_token=STRONG)


def test_serve_on_a_public_address_with_the_dev_token_refuses_to_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FRONTDESK_ADMIN_TOKEN", raising=False)
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--no-upgrade"])
    assert result.exit_code == 2
    assert "not a loopback" in result.output


@contextmanager
def serve_raw(app: Any) -> Iterator[str]:
    """Like tests.servers.serve, without uvicorn's own proxy-header rewriting (as
    ``frontdesk serve`` runs it): the app alone decides whom to believe."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@contextmanager
def running(settings: Settings, **overrides: Any) -> Iterator[httpx.Client]:
    app = create_app(settings.model_copy(update=overrides), bot=make_bot())
    with serve_raw(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client


def _hammer(client: httpx.Client, n: int, token: str = "wrong") -> list[httpx.Response]:
    return [
        client.get("/api/admin/stats", headers={"Authorization": f"Bearer {token}"})
        for _ in range(n)
    ]


def test_failed_admin_logins_are_throttled_per_address(migrated: Settings) -> None:
    with running(migrated, auth_failure_limit=3, auth_failure_window_seconds=60) as client:
        first = _hammer(client, 3)
        assert [r.status_code for r in first] == [401, 401, 401]
        blocked = _hammer(client, 1, token=DEV_ADMIN_TOKEN)[0]  # even the right one now
        assert blocked.status_code == 429
        assert 1 <= int(blocked.headers["Retry-After"]) <= 60
        assert blocked.json()["error"]["code"] == "rate_limited"
        # agent console sign-in and API keys go through the same check
        agent = client.get("/api/agent/queue", headers={"Authorization": "Bearer fd_guess"})
        assert agent.status_code == 429


def test_a_proxy_header_does_not_escape_the_throttle_unless_the_proxy_is_trusted(
    migrated: Settings,
) -> None:
    with running(migrated, auth_failure_limit=2) as client:
        for i in range(3):
            resp = client.get(
                "/api/admin/stats",
                headers={"Authorization": "Bearer wrong", "X-Forwarded-For": f"192.0.2.{i}"},
            )
        assert resp.status_code == 429


def test_behind_a_trusted_proxy_each_client_has_its_own_count(migrated: Settings) -> None:
    with running(migrated, auth_failure_limit=2, trusted_proxies=["127.0.0.0/8"]) as client:

        def fail(ip: str) -> int:
            headers = {"Authorization": "Bearer wrong", "X-Forwarded-For": ip}
            return client.get("/api/admin/stats", headers=headers).status_code

        assert [fail("192.0.2.1") for _ in range(3)] == [401, 401, 429]
        assert fail("192.0.2.2") == 401
        ok = client.get(
            "/api/admin/stats",
            headers={"Authorization": f"Bearer {DEV_ADMIN_TOKEN}", "X-Forwarded-For": "192.0.2.3"},
        )
        assert ok.status_code == 200


async def test_redis_counter_is_shared_by_workers() -> None:
    from redis.asyncio import Redis

    from frontdesk.auth.throttle import RedisFailureCounter

    redis = Redis.from_url("redis://127.0.0.1:6379/0")
    prefix = f"frontdesk:test-authfail:{uuid.uuid4().hex}:"
    try:
        one = RedisFailureCounter(redis, limit=2, window_seconds=30, prefix=prefix)
        two = RedisFailureCounter(redis, limit=2, window_seconds=30, prefix=prefix)
        await one.record_failure("192.0.2.1")
        assert await two.blocked_for("192.0.2.1") is None
        await two.record_failure("192.0.2.1")
        wait = await one.blocked_for("192.0.2.1")
        assert wait is not None and 0 < wait <= 30
        assert await one.blocked_for("192.0.2.2") is None
    finally:
        await redis.delete(prefix + "192.0.2.1")
        await redis.aclose()
