"""``frontdesk tenants create|list|show|update``, ``ingest --tenant`` and
``config check --tenant``, run as real subprocesses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.cli_run import run_cli, upgraded_home_env
from tests.tenants.world import ACME, GLOBEX


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli(args, env, timeout=300)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return upgraded_home_env(tmp_path)


def _write(path: Path, document: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_create_list_show_update(env: dict[str, str], tmp_path: Path) -> None:
    acme_file = _write(tmp_path / "acme.yaml", ACME)
    created = run(["tenants", "create", "acme", "--file", str(acme_file)], env)
    assert created.returncode == 0, created.stderr
    site_key = created.stdout.strip()
    assert site_key.startswith("fdsite_")
    assert f'data-site-key="{site_key}"' in created.stderr  # the widget snippet
    assert run(["tenants", "create", "acme", "--file", str(acme_file)], env).returncode == 2
    globex = run(
        ["tenants", "create", "globex", "-f", str(_write(tmp_path / "g.yaml", GLOBEX))], env
    )
    assert globex.returncode == 0, globex.stderr

    listed = run(["tenants", "list"], env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["acme", "globex"]
    assert site_key in lines[0] and "Roadrunner Help" in lines[0]

    shown = json.loads(run(["tenants", "show", "acme"], env).stdout)
    assert shown["site_key"] == site_key
    assert shown["config"]["bot"]["knowledge"]["collection"] == "acme-docs"
    assert run(["tenants", "show", "initech"], env).returncode == 2

    changed = {**ACME, "branding": {**ACME["branding"], "primary_color": "#111111"}}
    updated = run(
        ["tenants", "update", "acme", "-f", str(_write(tmp_path / "a2.yaml", changed))], env
    )
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.strip() == site_key
    assert json.loads(run(["tenants", "show", "acme"], env).stdout)["version"] != shown["version"]
    rotated = run(["tenants", "update", "acme", "--rotate-site-key"], env)
    assert rotated.returncode == 0 and rotated.stdout.strip() != site_key
    assert run(["tenants", "update", "acme"], env).returncode == 2  # nothing to update


def test_a_bad_tenant_file_names_the_field(env: dict[str, str], tmp_path: Path) -> None:
    bad = {**ACME, "widget_origins": ["https://shop.acme.example/path"]}
    out = run(["tenants", "create", "acme", "-f", str(_write(tmp_path / "bad.yaml", bad))], env)
    assert out.returncode == 2
    assert "widget_origins" in out.stderr and "origin only" in out.stderr
    assert run(["tenants", "list"], env).stdout == ""


def test_ingest_and_config_check_per_tenant(env: dict[str, str], tmp_path: Path) -> None:
    created = run(
        ["tenants", "create", "acme", "-f", str(_write(tmp_path / "acme.yaml", ACME))], env
    )
    assert created.returncode == 0, created.stderr
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refunds.md").write_text("# Refunds\n\nAcme refunds within 30 days.\n")
    ingested = run(["ingest", str(docs), "--tenant", "acme"], env)
    assert ingested.returncode == 0, ingested.stderr
    assert "1 documents (1 added," in ingested.stdout, ingested.stdout
    again = run(["ingest", str(docs), "--tenant", "acme"], env)
    assert again.returncode == 0 and "(0 added, 0 updated, 1 unchanged" in again.stdout
    # the same file for the default tenant is new there: the collections are apart
    default = run(["ingest", str(docs)], env)
    assert default.returncode == 0 and "1 documents (1 added," in default.stdout, default.stdout
    assert run(["ingest", str(docs), "--tenant", "initech"], env).returncode == 2

    checked = run(["config", "check", "--tenant", "acme"], env)
    assert checked.returncode == 0, checked.stderr
    assert "Roadrunner (Acme)" in checked.stdout
    assert "knowledge collection: acme-docs" in checked.stdout
    assert "https://shop.acme.example" in checked.stdout
    assert "scripted (scripted:scripted-1)" in checked.stdout
    key = run(["keys", "create", "--role", "admin", "--name", "ops", "--tenant", "acme"], env)
    assert key.returncode == 0 and "warning" not in key.stderr, key.stderr
    orphan = run(["keys", "create", "--role", "admin", "--name", "ops", "--tenant", "initech"], env)
    assert orphan.returncode == 0 and "tenant 'initech' has no record" in orphan.stderr
    missing = run(["config", "check", "--tenant", "initech"], env)
    assert missing.returncode == 2 and "no tenant 'initech'" in missing.stderr
