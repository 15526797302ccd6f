"""The offline report: charts inline, failing cases with answer and passages, no assets."""

from __future__ import annotations

import re

from frontdesk.evaluation.cases import EvalCase
from frontdesk.evaluation.observe import SeenCitation, TurnObservation
from frontdesk.evaluation.report import render_report
from frontdesk.evaluation.results import result_of
from frontdesk.evaluation.runner import CaseRun
from frontdesk.evaluation.summary import summarise

CASE = EvalCase(id="growth", turns=["Growth <price>?"], kind="answerable", facts=[["$299"]])
OK = EvalCase(id="ok", turns=["Starter?"], kind="answerable", facts=[["$49"]], split="holdout")


def test_report_shows_failing_cases_with_passages_and_inline_charts() -> None:
    cite = SeenCitation(title="Plans and Pricing", url="/kb/documents/d#s", document_id="d")
    bad = TurnObservation(answer="It is free.", shown="It is free.", ttft_ms=300, total_ms=800)
    bad.citations = [cite]
    good = TurnObservation(answer="Starter is $49.", ttft_ms=200, total_ms=500)
    passage = {"id": "c1", "title": "Plans and Pricing", "section": "Growth", "text": "$299 <b>"}
    results = [
        result_of(CaseRun(CASE, "c", [bad], details={"retrieved": [passage]})),
        result_of(CaseRun(OK, "c2", [good])),
    ]
    page = render_report(summarise(results, set="x.jsonl"), results)
    assert page.count("<svg") == 4
    assert "Failing cases (1)" in page and 'id="growth"' in page and 'id="ok"' not in page
    assert "missing fact: &#x27;$299&#x27;" in page
    assert "Growth &lt;price&gt;?" in page and "$299 &lt;b&gt;" in page  # escaped
    assert "/kb/documents/d#s" in page
    assert not re.search(r"""(?:src|href)=["']https?:""", page)
    assert "<script" not in page
