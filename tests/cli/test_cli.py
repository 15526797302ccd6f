"""The ``frontdesk`` console script, run as a real subprocess."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.cli_run import run_cli

SCRIPTED_BOT = """
name: Clibot
company: Acme
system_prompt: "You are {bot_name}. Today is {today}."
model: {chain: [scripted]}
endpoints:
  - name: scripted
    dialect: scripted
    model: scripted-1
    script: ["Hello from the script.", "Second reply."]
"""


def run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(args, env, stdin=stdin)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    bot = tmp_path / "bot.yaml"
    bot.write_text(SCRIPTED_BOT)
    base = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    base.pop("OPENAI_API_KEY", None)
    return {
        **base,
        "FRONTDESK_HOME": str(tmp_path / "home"),
        "FRONTDESK_BOT_CONFIG": str(bot),
        "FRONTDESK_LOG_JSON": "false",
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }


def test_config_check_prints_chain(env: dict[str, str]) -> None:
    out = run(["config", "check"], env)
    assert out.returncode == 0, out.stderr
    assert "Clibot" in out.stdout
    assert "scripted (scripted:scripted-1)" in out.stdout


def test_bad_setting_names_the_variable(env: dict[str, str]) -> None:
    out = run(["config", "check"], {**env, "FRONTDESK_PORT": "eighty"})
    assert out.returncode == 2
    assert "FRONTDESK_PORT" in out.stderr
    assert "eighty" in out.stderr


def test_bad_bot_config_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ncompany: y\nsystem_prompt: hi\nmodel: {temperature: 9}\n")
    out = run(["config", "check"], {**env, "FRONTDESK_BOT_CONFIG": str(bad)})
    assert out.returncode == 2
    assert "temperature" in out.stderr


def test_db_upgrade_then_chat_streams(env: dict[str, str]) -> None:
    up = run(["db", "upgrade"], env)
    assert up.returncode == 0, up.stderr
    assert run(["db", "upgrade"], env).returncode == 0  # idempotent
    out = run(["chat"], env, stdin="hi there\nanother one\n/quit\n")
    assert out.returncode == 0, out.stderr
    assert "Hello from the script." in out.stdout
    assert "Second reply." in out.stdout


def test_costs_report(env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    assert run(["chat"], env, stdin="hi\n/quit\n").returncode == 0
    out = run(["costs", "--by", "day,model"], env)
    assert out.returncode == 0, out.stderr
    assert "scripted/scripted-1" in out.stdout
    assert "total: 0.000000 USD" in out.stdout
    bad = run(["costs", "--by", "planet"], env)
    assert bad.returncode == 2
    assert "planet" in bad.stderr


def test_api_keys_create_list_revoke(env: dict[str, str]) -> None:
    assert run(["db", "upgrade"], env).returncode == 0
    created = run(["keys", "create", "--role", "agent", "--name", "alice"], env)
    assert created.returncode == 0, created.stderr
    assert "fd_" in created.stdout
    listed = run(["keys", "list"], env)
    assert "alice" in listed.stdout
    assert "agent" in listed.stdout
    bad = run(["keys", "create", "--role", "wizard", "--name", "x"], env)
    assert bad.returncode != 0
