"""A rich progress bar for ingestion (``frontdesk ingest`` uses it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from frontdesk.knowledge.ingest_types import IngestProgress, ProgressCallback


@contextmanager
def rich_ingest_progress(console: Console | None = None) -> Iterator[ProgressCallback]:
    """Yield a progress callback that drives a bar with counts, chunk rate and ETA."""
    columns = (
        TextColumn("[bold]ingest[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[chunks]} chunks · {task.fields[rate]} chunks/s"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[last]}", style="dim"),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("ingest", total=None, chunks=0, rate="-", last="")
        chunks = 0

        def update(event: IngestProgress) -> None:
            nonlocal chunks
            chunks += event.chunks
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{chunks / elapsed:.1f}" if elapsed > 0 else "-"
            bar.update(
                task,
                completed=event.done,
                total=event.total,
                chunks=chunks,
                rate=rate,
                last=f"{event.status}: {event.source}",
            )

        yield update
