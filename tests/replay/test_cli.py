"""``frontdesk replay``, ``conversations export``, ``users erase`` and ``retention run`` as
real subprocesses against the database a server wrote."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.domain import TurnRecord
from frontdesk.memory.migrate import upgrade
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.settings import Settings, load_settings
from tests.apphelpers import send, text_of
from tests.cli_run import run_cli
from tests.servers import serve

BOT = """
name: Replaybot
company: Acme
system_prompt: "You are {bot_name}. Today is {today}."
model: {chain: [scripted], temperature: 0.3}
knowledge: {enabled: false}
guard: {enabled: false}
endpoints:
  - name: scripted
    dialect: scripted
    model: scripted-1
  - name: other
    dialect: scripted
    model: other-2
    script: ["Another answer."]
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bot = tmp_path / "bot.yaml"
    bot.write_text(BOT)
    base = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    return {
        **base,
        "FRONTDESK_HOME": str(tmp_path / "home"),
        "FRONTDESK_BOT_CONFIG": str(bot),
        "FRONTDESK_LOG_JSON": "false",
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }


def turns_of(settings: Settings, conversation_id: str) -> list[TurnRecord]:
    async def load() -> list[TurnRecord]:
        store = SqlMemoryStore.from_url(settings.resolved_database_url)
        try:
            return await store.list_turns(conversation_id)
        finally:
            await store.close()

    return asyncio.run(load())


def test_replay_export_erase_and_retention_commands(env: dict[str, str]) -> None:
    settings = load_settings(
        home=Path(env["FRONTDESK_HOME"]), bot_config=Path(env["FRONTDESK_BOT_CONFIG"])
    )
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.resolved_database_url)
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/api/conversations", json={"metadata": {"user_id": "u-1"}})
        cid = created.json()["id"]
        answer = text_of(send(client, cid, "Where is my parcel?"))
        assert answer == "You said: Where is my parcel?"
        [turn] = turns_of(settings, cid)
        remote = run(["replay", turn.id, "--url", url, "--json"], env)
        assert remote.returncode == 0, remote.stdout + remote.stderr
        assert json.loads(remote.stdout)["same"] is True

    same = run(["replay", turn.id], env)
    assert same.returncode == 0, same.stdout + same.stderr
    assert "same answer: text and fields unchanged" in same.stdout
    assert f"turn {turn.id} (generative), replayed with scripted" in same.stdout

    other = run(["replay", turn.id, "--endpoint", "other"], env)
    assert other.returncode == 1, other.stderr
    assert "-You said: Where is my parcel?\n+Another answer.\n" in other.stdout
    assert "model: 'scripted-1' -> 'other-2'" in other.stdout

    missing = run(["replay", "no-such-turn"], env)
    assert missing.returncode == 2 and "turn no-such-turn not found" in missing.stderr

    exported = run(["conversations", "export", cid], env)
    assert exported.returncode == 0, exported.stderr
    document = json.loads(exported.stdout)
    assert [m["content"] for m in document["messages"]] == ["Where is my parcel?", answer]
    assert run(["conversations", "export", cid, "--tenant", "other"], env).returncode == 2

    no_days = run(["retention", "run"], env)
    assert no_days.returncode == 2 and "FRONTDESK_RETENTION_DAYS" in no_days.stderr
    kept = run(["retention", "run", "--days", "30"], env)
    assert kept.returncode == 0, kept.stderr
    assert json.loads(kept.stdout)["total"] == {"conversations": 0, "attachments": 0}

    assert run(["users", "erase"], env).returncode == 2
    erased = run(["users", "erase", "--user-id", "u-1"], env)
    assert erased.returncode == 0, erased.stderr
    assert json.loads(erased.stdout) == {"conversations": 1, "attachments": 0}
    assert run(["conversations", "export", cid], env).returncode == 2


def test_replay_of_a_tenant_turn_uses_the_tenants_bot(env: dict[str, str]) -> None:
    from tests.tenants.world import ACME, create_tenant

    settings = load_settings(
        home=Path(env["FRONTDESK_HOME"]), bot_config=Path(env["FRONTDESK_BOT_CONFIG"])
    )
    settings.data_dir.mkdir(parents=True)
    upgrade(settings.resolved_database_url)
    document = json.loads(json.dumps(ACME))
    document["bot"].update(knowledge={"enabled": False}, answer={"mode": "generative"})
    record = create_tenant(settings, "acme", document)
    site = {"X-Frontdesk-Site": record.site_key}
    with serve(create_app(settings)) as url, httpx.Client(base_url=url, timeout=30) as client:
        created = client.post("/api/conversations", json={}, headers=site)
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        path = f"/api/conversations/{cid}/messages"
        resp = client.post(path, json={"content": "Hi"}, headers=site)
        assert resp.status_code == 200, resp.text
    [turn] = turns_of(settings, cid)
    out = run(["replay", turn.id, "--json"], env)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads(out.stdout)
    # the tenant's bot, not the one of FRONTDESK_BOT_CONFIG, is the current config
    assert result["config_version"]["current"] == result["config_version"]["recorded"]
    assert result["notes"] == []
