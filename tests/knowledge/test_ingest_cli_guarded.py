"""``frontdesk ingest`` parses files in the guarded worker under FRONTDESK_PARSE_* limits."""

from __future__ import annotations

import time
from pathlib import Path

from tests.api.test_uploads import docx_bomb
from tests.cli.test_cli import env, run
from tests.knowledge.pdfs import content_stream_bomb, text_pdf

__all__ = ["env"]  # the fixture


def test_cli_ingest_skips_bombs_under_the_configured_limits(
    env: dict[str, str], tmp_path: Path
) -> None:
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "bomb.docx").write_bytes(docx_bomb())
    (kb / "slow.pdf").write_bytes(content_stream_bomb())
    (kb / "refunds.pdf").write_bytes(text_pdf())
    (kb / "faq.md").write_text("# FAQ\n\n## Hours\n\nWe open at nine.\n")
    assert run(["db", "upgrade"], env).returncode == 0
    started = time.monotonic()
    result = run(["ingest", str(kb)], {**env, "FRONTDESK_PARSE_TIMEOUT_SECONDS": "2"})
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    out = " ".join(result.stdout.split())
    assert "2 added" in out, out
    assert "bomb.docx: too_large" in out and "decompression bomb" in out
    assert "slow.pdf: too_large: parsing took longer than 2 s" in out
    assert elapsed < 60
