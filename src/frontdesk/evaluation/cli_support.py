"""The eval commands' bodies (kept out of cli.py so nothing heavy loads at import)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from frontdesk.errors import FrontdeskError
from frontdesk.evaluation.cases import load_cases
from frontdesk.evaluation.compare import Comparison, compare, load_run, parse_tolerance
from frontdesk.evaluation.run import EvalOutput, play, write_outputs
from frontdesk.evaluation.subsets import select
from frontdesk.evaluation.summary import table_rows
from frontdesk.settings import Settings

err = Console(stderr=True)


def summary_table(summary: dict[str, object]) -> Table:
    table = Table("metric", "overall", "dev", "holdout", title="answer quality")
    for row in table_rows(summary):
        table.add_row(*row)
    return table


def evaluate(
    case_set: Path,
    *,
    settings: Settings,
    bot_config: Path | None = None,
    url: str | None = None,
    knowledge: list[Path] | None = None,
    concurrency: int = 2,
    subset: str = "all",
    console: Console | None = None,
    chunk_tokens: int | None = None,
) -> EvalOutput:
    """Load, select, serve (unless ``url``), play and score. Raises FrontdeskError."""
    from frontdesk.config import load_bot_config
    from frontdesk.evaluation.inprocess import local_server

    cases = select(load_cases(case_set), subset, case_set)
    config_path = bot_config or settings.bot_config
    meta: dict[str, object] = {"set": str(case_set), "subset": subset, "concurrency": concurrency}
    if chunk_tokens is not None:
        if url is not None:
            raise FrontdeskError("--chunk-tokens re-chunks in-process documents: not with --url")
        meta["chunk_tokens"] = chunk_tokens
    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console or err, transient=False,
    ) as progress:  # fmt: skip
        task = progress.add_task("cases", total=len(cases))

        def tick(_: str) -> None:
            progress.advance(task)

        if url is not None:
            return play(cases, url, concurrency=concurrency, enrich=None, on_done=tick,
                        meta={**meta, "url": url})  # fmt: skip
        bot = load_bot_config(config_path)
        kb = knowledge if knowledge is not None else [Path("sample_kb")]
        progress.update(task, description="ingesting")
        with local_server(bot, kb, bot_config=config_path, chunk_tokens=chunk_tokens) as server:
            progress.update(task, description="cases")
            return play(cases, server.base_url, concurrency=concurrency, enrich=server.details,
                        on_done=tick, meta={**meta, "bot": str(config_path)})  # fmt: skip


def run_answers(
    case_set: Path,
    *,
    settings: Settings,
    bot_config: Path | None,
    out: Path,
    url: str | None,
    knowledge: list[Path] | None,
    concurrency: int,
    subset: str,
    chunk_tokens: int | None = None,
) -> int:
    try:
        output = evaluate(case_set, settings=settings, bot_config=bot_config, url=url,
                          knowledge=knowledge, concurrency=concurrency, subset=subset,
                          chunk_tokens=chunk_tokens)  # fmt: skip
        write_outputs(out, output)
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    Console(width=120).print(summary_table(output.summary))
    err.print(f"{len(output.results)} cases in {output.seconds} s; wrote {out}/report.html")
    errors = int(output.summary["overall"]["errors"])
    if errors == len(output.results):
        err.print("[red]error:[/red] every case ended in an error: the run measured nothing")
        return 1
    return 0


def print_comparison(result: Comparison, console: Console) -> None:
    table = Table("scope", "metric", "base", "new", "delta", "tolerance", "", title="compare")
    for d in result.deltas:
        if d.base is None and d.new is None:
            continue
        mark = "[red]WORSE[/red]" if d.worse else ""
        tol = "-" if d.tolerance is None else f"{d.tolerance:g}"
        table.add_row(d.scope, d.metric, f"{d.base}", f"{d.new}", f"{d.delta}", tol, mark)
    console.print(table)
    for change in result.changes:
        label = "[red]worse[/red]" if change.worse else "[green]better[/green]"
        console.print(f"{label} {change.id}: {'; '.join(change.why) or '-'}")


def run_compare(base: Path, new: Path, tolerance: list[str]) -> int:
    try:
        result = compare(load_run(base), load_run(new), parse_tolerance(tolerance))
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    print_comparison(result, Console(width=140))
    if result.failed:
        names = ", ".join(f"{d.scope}.{d.metric}" for d in result.regressions)
        err.print(f"[red]regression:[/red] {names}")
        return 1
    return 0


def run_export(settings: Settings, out: Path | None, limit: int) -> None:
    from frontdesk.evaluation.export import export_candidates
    from frontdesk.memory.dialects import create_engine

    async def go() -> list[dict[str, object]]:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await export_candidates(engine, limit=limit)
        finally:
            await engine.dispose()

    candidates = asyncio.run(go())
    lines = "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in candidates)
    if out is None:
        sys.stdout.write(lines)
    else:
        out.write_text(lines, encoding="utf-8")
    err.print(f"{len(candidates)} candidate cases (kind and facts to review)")
