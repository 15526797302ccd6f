"""Start-up stays cheap: importing the app loads no parser, vendor SDK or CLI toolkit.

Each of these is imported where it is used (a PDF upload, an Anthropic endpoint, ``db
upgrade``, a Redis URL), so a server that does not need them does not pay for them at every
start. Checked in a fresh interpreter, since this test process has imported them all.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from frontdesk.asgi import long_lived
from frontdesk.settings import Settings

NOT_AT_IMPORT = (
    "pypdf",  # knowledge loaders: imported for the file type being loaded
    "docx",
    "markdown_it",
    "openai",  # vendor SDKs: only when an endpoint of that dialect is configured
    "anthropic",
    "google.genai",
    "llama_cpp",
    "spacy",  # guard and answer models: loaded by the services that need them
    "presidio_analyzer",
    "onnxruntime",
    "alembic",  # migrations: `frontdesk db upgrade` only
    "redis",  # only with FRONTDESK_REDIS_URL
    "opentelemetry.sdk",  # only when spans are exported (FRONTDESK_OTEL_EXPORTER)
    "psutil",  # imported by the OpenTelemetry SDK's resources
    "numpy",  # embeddings, the injection classifier, the action router: ~0.1 s
    "tokenizers",  # the embedder's tokenizer
    "jwt",  # customer JWTs (with cryptography, ~0.09 s): only when identity.jwt is set
    "cryptography",
    "PIL",  # images: on the first image
    "phonenumbers",  # the PII guard
    "frontdesk.replay.engine",  # an admin's replay of a turn: on the first replay
    "frontdesk.knowledge.sandbox",  # the parser sandbox: on the first document upload
)

GUARD_AND_KNOWLEDGE = (
    "numpy",
    "tokenizers",
    "onnxruntime",
    "spacy",
    "phonenumbers",
    "jwt",
    "frontdesk.guard.pipeline",  # the guard stack (its regexes compile at import)
    "frontdesk.guard.ner",
    "frontdesk.guard.output",
    "frontdesk.knowledge.embedding",  # the knowledge stack
    "frontdesk.knowledge.retrieval",
    "frontdesk.knowledge.ingest",
    "frontdesk.answer.extractive",
    "frontdesk.actions.routing",
)
"""Not loaded by an app whose bot has knowledge, guard and actions off, even once it has
started: wiring imports each stack when the bot config turns it on."""

STARTED_APP = """
from fastapi.testclient import TestClient
from frontdesk.app import create_app
from frontdesk.config import load_bot_config
from frontdesk.settings import load_settings
settings = load_settings()
with TestClient(create_app(settings, bot=load_bot_config(settings.bot_config))) as client:
    assert client.get("/healthz").status_code == 200
    created = client.post("/api/conversations", json={})
    assert created.status_code == 201
    assert client.get(f"/api/conversations/{created.json()['id']}").status_code == 200
"""

GATEWAY_BOT = """\
name: Gateway
company: Acme
system_prompt: "You are {bot_name} of {company}."
endpoints:
  - name: upstream
    dialect: openai
    model: gpt-4o-mini
    base_url: http://127.0.0.1:9/v1
    api_key_env: UPSTREAM_KEY
model:
  chain: [upstream]
knowledge:
  enabled: false
guard:
  enabled: false
"""


def _modules_after(statement: str, env: dict[str, str] | None = None) -> set[str]:
    return set(_probe(statement, "sorted(sys.modules)", env))


def _probe(statement: str, expression: str, env: dict[str, str] | None = None) -> Any:
    """``expression`` (JSON) after running ``statement`` in a fresh interpreter."""
    code = f"import json, sys\n{statement}\nprint(json.dumps({expression}))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env=env,
    )
    return json.loads(out.stdout.splitlines()[-1])


def _loaded(modules: set[str], package: str) -> list[str]:
    return sorted(m for m in modules if m == package or m.startswith(package + "."))


@pytest.fixture(scope="module")
def app_modules() -> set[str]:
    return _modules_after("import frontdesk.app")


@pytest.mark.parametrize("package", NOT_AT_IMPORT)
def test_importing_the_app_does_not_import(app_modules: set[str], package: str) -> None:
    loaded = _loaded(app_modules, package)
    assert loaded == [], f"import frontdesk.app imported {loaded[:5]}"


def _gateway_env(migrated: Settings, tmp_path: Path) -> dict[str, str]:
    bot = tmp_path / "gateway.yaml"
    bot.write_text(GATEWAY_BOT)
    return {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(migrated.data_dir),
        "FRONTDESK_DATABASE_URL": migrated.resolved_database_url,
        "FRONTDESK_BOT_CONFIG": str(bot),
        "UPSTREAM_KEY": "sk-test",
    }


def test_a_started_gateway_bot_loads_no_guard_or_knowledge_stack(
    migrated: Settings, tmp_path: Path
) -> None:
    """The benchmark's gateway configuration, started (lifespan run, /healthz answered)."""
    modules = _modules_after(STARTED_APP, _gateway_env(migrated, tmp_path))
    assert "frontdesk.wiring" in modules  # the services were built
    loaded = {p: _loaded(modules, p)[:3] for p in GUARD_AND_KNOWLEDGE if _loaded(modules, p)}
    assert loaded == {}


COUNTED_LOADS = """
import quicktok
loads = []
load = quicktok.get_encoding
quicktok.get_encoding = lambda name, *a: loads.append(name) or load(name, *a)
from fastapi.testclient import TestClient
from frontdesk.app import create_app
from frontdesk.config import load_bot_config
from frontdesk.settings import load_settings
settings = load_settings()
seen = {}
with TestClient(create_app(settings, bot=load_bot_config(settings.bot_config))) as client:
    assert client.get("/healthz").status_code == 200
    seen["started"] = list(loads)
    assert client.post("/api/conversations", json={}).status_code == 201
    seen["conversation"] = list(loads)
    assert client.post("/api/conversations", json={}).status_code == 201
    seen["second"] = list(loads)
"""


def test_the_tokenizer_loads_with_the_first_conversation_not_at_start(
    migrated: Settings, tmp_path: Path
) -> None:
    """Loading o200k_base holds the GIL for ~0.45 s of CPU: a started app has not loaded it
    (a gateway request counts only with a budget or a TPM limit); the first new conversation
    loads it after its response (before the customer's first turn counts), once."""
    seen = _probe(COUNTED_LOADS, "seen", _gateway_env(migrated, tmp_path))
    assert seen == {
        "started": [],
        "conversation": ["o200k_base"],
        "second": ["o200k_base"],
    }


def test_long_lived_builds_with_the_collector_off_then_freezes() -> None:
    assert gc.isenabled()
    try:
        with long_lived():
            assert not gc.isenabled()
            kept: list[list[int]] = [[] for _ in range(10)]  # noqa: F841 (alive at the freeze)
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this test process keeps collecting as before
    assert gc.get_freeze_count() == 0


def test_long_lived_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    try:
        with long_lived():
            pass
        assert not gc.isenabled()
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_check_sees_an_import() -> None:
    """The probe itself works: a statement that imports a package shows it."""
    assert "pypdf" in _modules_after("import frontdesk.knowledge.loaders.pdf")
