"""Issue 9 finding 11: a request path cannot forge a log line; URLs in logs lose their
credentials and query strings."""

from __future__ import annotations

import json
import logging

import pytest

from frontdesk.escalation.sinks import SinkError, WebhookSink
from frontdesk.logging_setup import JsonFormatter, TextFormatter, redact_url
from tests.apphelpers import Running
from tests.servers import free_port


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "frontdesk.access"]


def test_an_encoded_newline_in_the_path_does_not_forge_a_line(
    running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="frontdesk.access")
    with running(None) as client:
        client.get("/x%0aERROR frontdesk.auth: admin login ok%1b[2J")
    [record] = [
        r
        for r in _records(caplog)
        if "forged" in str(getattr(r, "path", "")) or "admin login" in str(getattr(r, "path", ""))
    ]
    text = TextFormatter().format(record)
    assert "\n" not in text and "\x1b" not in text
    assert "path=/x\\nERROR frontdesk.auth: admin login ok\\x1b[2J" in text
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line)["path"] == "/x\nERROR frontdesk.auth: admin login ok\x1b[2J"


def test_json_lines_escape_line_separators_and_stay_json() -> None:
    record = logging.LogRecord("t", logging.INFO, "", 0, "a\u2028b\x85c Grüße", None, None)
    line = JsonFormatter().format(record)
    assert "\u2028" not in line and "\x85" not in line
    assert json.loads(line)["msg"] == "a\u2028b\x85c Grüße"


def test_redact_url() -> None:
    assert redact_url("https://user:pw@hooks.example.com:8443/h/abc?token=s3cret#x") == (
        "https://hooks.example.com:8443/h/abc"
    )
    assert redact_url("http://[::1]/hook?sig=1") == "http://[::1]/hook"


async def test_a_failing_webhook_url_with_a_secret_is_not_in_the_error() -> None:
    url = f"http://bot:hunter2@127.0.0.1:{free_port()}/hook?token=s3cret-token"
    with pytest.raises(SinkError) as info:
        await WebhookSink(url=url, secret="k", timeout_seconds=2).deliver({}, delivery_id="d")
    message = str(info.value)
    assert "s3cret-token" not in message and "hunter2" not in message
    assert f"127.0.0.1:{url.split(':')[3].split('/')[0]}/hook" in message
