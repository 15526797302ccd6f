"""Start-up stays cheap: importing the app loads no parser, vendor SDK or CLI toolkit.

Each of these is imported where it is used (a PDF upload, an Anthropic endpoint, ``db
upgrade``, a Redis URL), so a server that does not need them does not pay for them at every
start. Checked in a fresh interpreter, since this test process has imported them all.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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
)


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(out.stdout))


@pytest.fixture(scope="module")
def app_modules() -> set[str]:
    return _modules_after("import frontdesk.app")


@pytest.mark.parametrize("package", NOT_AT_IMPORT)
def test_importing_the_app_does_not_import(app_modules: set[str], package: str) -> None:
    loaded = sorted(m for m in app_modules if m == package or m.startswith(package + "."))
    assert loaded == [], f"import frontdesk.app imported {loaded[:5]}"


def test_the_check_sees_an_import() -> None:
    """The probe itself works: a statement that imports a package shows it."""
    assert "pypdf" in _modules_after("import frontdesk.knowledge.loaders.pdf")
