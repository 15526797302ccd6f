"""The offline HTML report: metric bars, latency and cost distribution, failing cases."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape
from typing import Any

from frontdesk.evaluation.charts import bars, histogram
from frontdesk.evaluation.results import CaseResult
from frontdesk.evaluation.summary import METRICS, table_rows

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;
font-size:13px;text-align:left;vertical-align:top}h2{margin-top:1.6em}
.case{border:1px solid #ddd;padding:.6em 1em;margin:1em 0;border-radius:6px}
.bad{color:#a11}.q{font-weight:600}pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}
"""

_RATES = [
    k for k, (d, _) in METRICS.items() if d != "info" and k not in {"errors", "wrong_unflagged"}
]


def _summary_table(summary: dict[str, Any]) -> str:
    head = "<tr><th>metric</th><th>overall</th><th>dev</th><th>holdout</th><th>meaning</th></tr>"
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row)
        + f"<td>{escape(METRICS.get(row[0], ('', ''))[1])}</td></tr>"
        for row in table_rows(summary)
    )  # fmt: skip
    return f"<table>{head}{body}</table>"


def _case(r: CaseResult) -> str:
    turns = "".join(f'<div class="q">&gt; {escape(t)}</div>' for t in r.turns)
    reasons = "".join(f"<li class='bad'>{escape(x)}</li>" for x in r.score.reasons)
    cites = "".join(
        f"<li>{escape(c.get('title', ''))} <code>{escape(c.get('url', ''))}</code></li>"
        for c in r.citations
    )
    passages = "".join(
        f"<li><b>{escape(str(p.get('title', '')))}</b> {escape(str(p.get('section', '')))}"
        f"<pre>{escape(str(p.get('text', '')))}</pre></li>"
        for p in r.details.get("retrieved", [])
    )
    withdrawn = (
        f"<p>shown, then withdrawn:</p><pre>{escape(r.shown)}</pre>" if r.score.withdrawn else ""
    )
    return (
        f'<div class="case" id="{escape(r.id)}"><h3>{escape(r.id)} '
        f"<small>({r.kind}, {r.split}, {escape(', '.join(r.tags))})</small></h3>{turns}"
        f"<ul>{reasons}</ul><p>answer:</p><pre>{escape(r.answer)}</pre>{withdrawn}"
        f"<p>notices: {escape(', '.join(r.notices) or '-')}; escalated: {r.score.escalated}; "
        f"groundedness: {escape(str(r.score.groundedness))}</p>"
        f"<p>citations:</p><ul>{cites or '<li>none</li>'}</ul>"
        f"<details><summary>retrieved passages ({len(r.details.get('retrieved', []))})</summary>"
        f"<ul>{passages}</ul></details></div>"
    )


def render_report(summary: dict[str, Any], results: Sequence[CaseResult]) -> str:
    overall = summary["overall"]
    rate_bars = bars([(k, float(overall[k])) for k in _RATES if overall.get(k) is not None])
    ttft = histogram(
        [r.score.ttft_ms for r in results if r.score.ttft_ms is not None], label="TTFT (ms)"
    )
    total = histogram([r.score.total_ms for r in results], label="case time (ms)")
    costs = [float(Decimal(r.score.cost_usd)) * 1_000_000 for r in results]
    cost = histogram(costs, label="cost per case (micro-USD)")
    failing = [r for r in results if not r.score.correct or r.score.wrong_unflagged]
    meta = ", ".join(
        f"{k}: {escape(str(v))}" for k, v in summary.items() if k not in {"overall", "splits"}
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Answer evaluation</title><style>{_STYLE}</style></head><body>"
        f"<h1>Answer-quality evaluation</h1><p>{meta}</p>"
        f"<h2>Summary</h2>{_summary_table(summary)}<h2>Metrics (overall)</h2>{rate_bars}"
        f"<h2>Time to first token</h2>{ttft}<h2>Time per case</h2>{total}"
        f"<h2>Cost</h2>{cost}<h2>Failing cases ({len(failing)})</h2>"
        + "".join(_case(r) for r in failing)
        + "</body></html>"
    )
