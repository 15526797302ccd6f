"""Issue 9 finding 10: /metrics is not public, /docs and /redoc carry a CSP, /readyz
probes are cached."""

from __future__ import annotations

import base64
import hashlib
import re

from pydantic import SecretStr

from frontdesk.providers.scripted import ScriptedProvider
from tests.apphelpers import Running


def test_metrics_need_the_token_when_one_is_set(running: Running) -> None:
    with running(None, metrics_token=SecretStr("m" + "3tr1cs-t0ken-xyz" * 2)) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = client.get("/metrics", headers={"Authorization": "Bearer m" + "3tr1cs-t0ken-xyz" * 2})
        assert ok.status_code == 200
        assert "frontdesk_http_requests_total" in ok.text


def test_without_a_token_metrics_answer_loopback_clients_only(running: Running) -> None:
    with running(None, trusted_proxies=["127.0.0.0/8"]) as client:
        assert client.get("/metrics").status_code == 200  # a scraper on this host
        remote = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
        assert remote.status_code == 404  # through the reverse proxy: the internet


def test_docs_pages_carry_a_csp_that_fits_their_inline_script(running: Running) -> None:
    with running(None) as client:
        for path in ("/docs", "/redoc"):
            resp = client.get(path)
            assert resp.status_code == 200
            csp = resp.headers["content-security-policy"]
            assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
            assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
            for body in re.findall(r"<script(?![^>]*src=)[^>]*>(.*?)</script>", resp.text, re.S):
                digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in csp
            for src in re.findall(r'src="([^"]+)"', resp.text):
                assert src.startswith("https://cdn.jsdelivr.net/"), src
        assert client.get("/openapi.json").status_code == 200


class CountingProvider(ScriptedProvider):
    checks = 0

    async def check(self) -> None:
        type(self).checks += 1
        await super().check()


def test_readyz_probes_are_cached(running: Running) -> None:
    provider = CountingProvider()
    with running(provider, readyz_cache_seconds=30) as client:
        before = CountingProvider.checks
        for _ in range(20):
            assert client.get("/readyz").status_code == 200
        assert CountingProvider.checks - before == 1
    with running(provider, readyz_cache_seconds=0) as client:
        before = CountingProvider.checks
        for _ in range(3):
            client.get("/readyz")
        assert CountingProvider.checks - before == 3
