"""Killing the server mid-answer and restarting it loses no user message (issue 2)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from httpx_sse import EventSource

from tests.providers.fake_openai import API_KEY, FakeOpenAI, stream_reply
from tests.servers import free_port
from tests.threaded import threaded

BOT = """
name: Restartbot
company: Acme
system_prompt: "You are {{bot_name}}."
model: {{chain: [vendor]}}
knowledge: {{enabled: false}}
guard: {{enabled: false}}
endpoints:
  - name: vendor
    dialect: openai
    model: gpt-4o-mini
    base_url: {base_url}
    api_key_env: FAKE_VENDOR_KEY
"""


@contextmanager
def server(env: dict[str, str], port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "frontdesk", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("server did not start")
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)


def test_kill_mid_answer_then_restart_keeps_the_message(tmp_path: Path) -> None:
    with threaded(FakeOpenAI()) as fake:
        bot = tmp_path / "bot.yaml"
        bot.write_text(BOT.format(base_url=fake.base_url))
        env = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
        env.update(
            FRONTDESK_HOME=str(tmp_path / "home"),
            FRONTDESK_BOT_CONFIG=str(bot),
            FRONTDESK_LOG_LEVEL="WARNING",
            FAKE_VENDOR_KEY=API_KEY,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        fake.push(stream_reply("word " * 60, chunk_delay=0.2))
        with server(env, port) as proc:
            cid = httpx.post(f"{base}/api/conversations", json={}).json()["id"]
            body = {"content": "Please explain the export feature", "client_message_id": "k-1"}
            with httpx.stream(
                "POST", f"{base}/api/conversations/{cid}/messages", json=body, timeout=30
            ) as resp:
                for sse in EventSource(resp).iter_sse():
                    if sse.event == "delta":
                        proc.send_signal(signal.SIGKILL)  # dies mid-answer
                        break
            proc.wait(timeout=10)
        fake.push(stream_reply("Back again."))
        with server(env, port):
            msgs = httpx.get(f"{base}/api/conversations/{cid}").json()["messages"]
            assert msgs[0]["content"] == "Please explain the export feature"
            assert msgs[0]["status"] == "complete"
            assert msgs[1]["status"] == "failed"
            assert "restarted" in msgs[1]["error"]
            # retrying the same message answers it; the conversation stays usable
            again = httpx.post(
                f"{base}/api/conversations/{cid}/messages",
                json={**body, "stream": False},
                timeout=30,
            ).json()
            assert again["message"]["content"] == "Back again."
