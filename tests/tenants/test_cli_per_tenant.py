"""``frontdesk chat --tenant``, ``frontdesk retention run [--tenant]`` (each tenant's own
``retention_days``) and ``config check --tenant`` with the tenant's own escalation sinks,
run as real subprocesses."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import update

from frontdesk.memory.dialects import create_engine
from frontdesk.memory.schema import conversations
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.settings import load_settings
from tests.cli_run import run_cli, upgraded_home_env
from tests.tenants.world import ACME, GLOBEX


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(args, env, stdin=stdin, timeout=300)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return upgraded_home_env(tmp_path)


def _create(env: dict[str, str], tmp_path: Path, tenant: str, document: dict[str, Any]) -> str:
    path = tmp_path / f"{tenant}.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    created = run(["tenants", "create", tenant, "-f", str(path)], env)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def _generative(document: dict[str, Any], reply: str) -> dict[str, Any]:
    doc = copy.deepcopy(document)
    doc["bot"]["endpoints"][0]["script"] = [reply] * 3
    doc["bot"]["knowledge"] = {"enabled": False}
    doc["bot"]["answer"] = {"mode": "generative"}
    return doc


def test_chat_with_a_tenants_bot(env: dict[str, str], tmp_path: Path) -> None:
    _create(env, tmp_path, "acme", _generative(ACME, "Acme's own model answers."))
    chatted = run(["chat", "--tenant", "acme"], env, stdin="hello there\n/quit\n")
    assert chatted.returncode == 0, chatted.stderr
    assert "Roadrunner: " + ACME["branding"]["greeting"] in chatted.stdout
    assert "Acme's own model answers." in chatted.stdout
    missing = run(["chat", "--tenant", "initech"], env, stdin="/quit\n")
    assert missing.returncode == 2 and "no tenant 'initech'" in missing.stderr
    both = run(["chat", "--tenant", "acme", "--url", "http://127.0.0.1:9"], env)
    assert both.returncode == 2 and "--site-key" in both.stderr


async def _conversations(env: dict[str, str], idle_days: float) -> dict[str, str]:
    settings = load_settings(home=Path(env["FRONTDESK_HOME"]))
    engine = create_engine(settings.resolved_database_url)
    store = SqlMemoryStore(engine)
    try:
        ids = {}
        for tenant in ("acme", "globex", "default"):
            conv = await store.create_conversation(tenant_id=tenant, bot_id="b", metadata={})
            ids[tenant] = conv.id
        old = datetime.now(UTC) - timedelta(days=idle_days)
        async with engine.begin() as conn:
            await conn.execute(update(conversations).values(updated_at=old))
        return ids
    finally:
        await store.close()


async def _left(env: dict[str, str], ids: dict[str, str]) -> set[str]:
    settings = load_settings(home=Path(env["FRONTDESK_HOME"]))
    store = SqlMemoryStore.from_url(settings.resolved_database_url)
    try:
        return {t for t, cid in ids.items() if await store.get_conversation(cid) is not None}
    finally:
        await store.close()


def test_retention_run_honours_each_tenants_retention_days(
    env: dict[str, str], tmp_path: Path
) -> None:
    _create(env, tmp_path, "acme", {**copy.deepcopy(ACME), "retention_days": 30})
    _create(env, tmp_path, "globex", copy.deepcopy(GLOBEX))  # no days of its own
    ids = asyncio.run(_conversations(env, idle_days=40))

    only_own = run(["retention", "run"], env)  # no global setting: only acme's own 30 days
    assert only_own.returncode == 0, only_own.stderr
    report = json.loads(only_own.stdout)
    assert report["tenants"] == {
        "acme": {
            "conversations": 1,
            "attachments": 0,
            "cutoff": report["tenants"]["acme"]["cutoff"],
        }
    }
    assert asyncio.run(_left(env, ids)) == {"globex", "default"}

    nothing = run(["retention", "run", "--tenant", "globex"], env)
    assert nothing.returncode == 2 and "no retention" in nothing.stderr
    assert run(["retention", "run", "--tenant", "initech"], env).returncode == 2

    ids = asyncio.run(_conversations(env, idle_days=40))
    one = run(["retention", "run", "--tenant", "globex", "--days", "35"], env)
    assert one.returncode == 0, one.stderr
    assert set(json.loads(one.stdout)["tenants"]) == {"globex"}
    assert asyncio.run(_left(env, ids)) == {"acme", "default"}  # only globex's went

    # --days is the fallback: acme keeps its own 30 days, not 50
    ids = asyncio.run(_conversations(env, idle_days=40))
    every = run(["retention", "run", "--days", "50"], env)
    assert every.returncode == 0, every.stderr
    assert json.loads(every.stdout)["total"]["conversations"] == 2  # acme's of both rounds
    assert asyncio.run(_left(env, ids)) == {"globex", "default"}
    env_days = {**env, "FRONTDESK_RETENTION_DAYS": "39"}
    default_only = run(["retention", "run", "--tenant", "default"], env_days)
    assert default_only.returncode == 0, default_only.stderr
    assert asyncio.run(_left(env, ids)) == {"globex"}


def test_config_check_shows_and_checks_the_tenants_own_sinks(
    env: dict[str, str], tmp_path: Path
) -> None:
    document = copy.deepcopy(ACME)
    document["escalation"] = {
        "webhook": {"url": "https://hooks.acme.example/frontdesk", "secret_env": "ACME_HOOK"}
    }
    _create(env, tmp_path, "acme", document)
    unset = run(["config", "check", "--tenant", "acme"], env)
    assert unset.returncode == 2 and "ACME_HOOK is not set" in unset.stderr
    short = run(["config", "check", "--tenant", "acme"], {**env, "ACME_HOOK": "s" * 8})
    assert short.returncode == 2 and "at least 32" in short.stderr
    checked = run(["config", "check", "--tenant", "acme"], {**env, "ACME_HOOK": "s" * 40})
    assert checked.returncode == 0, checked.stderr
    shown = " ".join(checked.stdout.split())  # rich wraps long lines
    assert "escalation: webhook own https://hooks.acme.example/frontdesk" in shown
    assert "email the operator's" in shown
    bad = copy.deepcopy(ACME)
    bad["escalation"] = {"smtp": {"host": "m", "sender": "a@acme.example", "username": "u"}}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad), encoding="utf-8")
    refused = run(["tenants", "update", "acme", "-f", str(path)], env)
    assert refused.returncode == 2 and "clear text" in refused.stderr
