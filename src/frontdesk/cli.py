"""The ``frontdesk`` command line."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console

from frontdesk.errors import ConfigError, FrontdeskError
from frontdesk.settings import Settings, load_settings

app = typer.Typer(help="Frontdesk: a self-hostable customer-support chatbot.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
config_app = typer.Typer(help="Configuration.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(config_app, name="config")
keys_app = typer.Typer(help="API keys (admin, agent, client).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
tenants_app = typer.Typer(help="Tenants with their own bots.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")

err = Console(stderr=True)


def _settings(**overrides: object) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind")] = None,
    port: Annotated[int | None, typer.Option(help="Port")] = None,
    upgrade: Annotated[bool, typer.Option(help="Apply database migrations first")] = True,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            envvar="FRONTDESK_WORKERS",
            help="Worker processes on one port (more than 1 needs PostgreSQL and Redis)",
        ),
    ] = 1,
) -> None:
    """Serve the web chat and the API."""
    import uvicorn

    from frontdesk.asgi import long_lived

    with long_lived():  # the app's modules and objects: built with the cyclic GC off, frozen
        target, options = _serving(host, port, upgrade, workers)
    uvicorn.run(target, **options)


def _serving(
    host: str | None, port: int | None, upgrade: bool, workers: int
) -> tuple[Any, dict[str, Any]]:
    """What ``serve`` runs: its app (one worker) or the workers' factory, and uvicorn's options."""
    import os

    from frontdesk.app import create_app
    from frontdesk.asgi import WORKER_APP, shared_state_problem
    from frontdesk.config import load_bot_config
    from frontdesk.logging_setup import configure_logging
    from frontdesk.memory.migrate import upgrade as db_upgrade

    settings = _settings(host=host, port=port)
    configure_logging(settings.log_level, json_lines=settings.log_json)
    try:
        bot = load_bot_config(settings.bot_config)
        if upgrade:
            db_upgrade(settings.resolved_database_url)
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    problem = shared_state_problem(settings) if workers > 1 else None
    if problem is not None:
        err.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(2)
    err.print(
        f"Frontdesk serving [bold]{bot.name}[/bold] on http://{settings.host}:{settings.port}"
        + (f" with {workers} workers" if workers > 1 else "")
    )
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,
        "access_log": False,
        "proxy_headers": False,  # the client address comes from FRONTDESK_TRUSTED_PROXIES only
        "timeout_graceful_shutdown": 5,
        "ws": "none",  # no WebSocket routes (live events are SSE): skip the websockets import
    }
    if workers == 1:
        return create_app(settings, bot=bot), options
    # each worker builds its app from the environment: hand it the command line's overrides
    os.environ["FRONTDESK_HOST"], os.environ["FRONTDESK_PORT"] = settings.host, str(settings.port)
    # the process manager kills a worker that does not answer its ping in time: a worker
    # starved of CPU in a burst must not be killed with its streams (uvicorn's default: 5 s)
    options["timeout_worker_healthcheck"] = settings.worker_healthcheck_seconds
    return WORKER_APP, {**options, "factory": True, "workers": workers}


@db_app.command("upgrade")
def db_upgrade_cmd() -> None:
    """Apply all database migrations (safe to run repeatedly)."""
    from frontdesk.memory.migrate import upgrade as db_upgrade

    settings = _settings()
    db_upgrade(settings.resolved_database_url)
    err.print("database is up to date")


@config_app.command("check")
def config_check(
    bot_config: Annotated[
        Path | None, typer.Option(help="Bot YAML (default from settings)")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="Check this tenant's stored config instead")
    ] = None,
) -> None:
    """Validate settings and the bot config (or a tenant's); print what would run."""
    from frontdesk.config import load_bot_config
    from frontdesk.providers.factory import available_chain

    settings = _settings(bot_config=bot_config)
    out = Console()
    try:
        if tenant is not None and tenant != "default":
            from frontdesk.tenants.cli import escalation_line, get_tenant

            record = get_tenant(settings.resolved_database_url, tenant)
            bot = record.config.served_bot()
            origins = ", ".join(record.config.widget_origins) or "(none: not embeddable)"
            out.print(f"tenant: [bold]{record.id}[/bold], site key {record.site_key}")
            out.print(f"widget origins: {origins}")
            out.print(escalation_line(record))
        else:
            bot = load_bot_config(settings.bot_config)
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    chain = available_chain(bot, settings)
    out.print(f"bot: [bold]{bot.name}[/bold] ({bot.company}), config version {bot.version}")
    out.print(f"knowledge collection: {bot.knowledge.collection}")
    out.print("provider chain: " + " -> ".join(f"{e.name} ({e.dialect}:{e.model})" for e in chain))
    from frontdesk.logging_setup import redact_url

    out.print(f"database: {redact_url(settings.resolved_database_url)}")  # no password
    out.print("[green]configuration OK[/green]")


eval_app = typer.Typer(help="Evaluation.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")


@app.command()
def ingest(
    paths: Annotated[list[str], typer.Argument(help="Files, folders or globs")],
    collection: Annotated[str | None, typer.Option(help="Knowledge collection")] = None,
    tenant: Annotated[str, typer.Option(help="Tenant")] = "default",
    prune: Annotated[
        bool, typer.Option(help="Remove documents of the collection that are not in PATHS")
    ] = False,
    reembed: Annotated[
        bool, typer.Option(help="Embed everything again (after changing the embedding model)")
    ] = False,
) -> None:
    """Add documents to the knowledge base (idempotent: unchanged files embed nothing)."""
    from frontdesk.config import load_bot_config
    from frontdesk.knowledge.embedding import LocalEmbedder
    from frontdesk.knowledge.ingest import ingest as run_ingest
    from frontdesk.knowledge.progress import rich_ingest_progress
    from frontdesk.knowledge.sandbox import limits_from
    from frontdesk.knowledge.stores.factory import open_store

    settings = _settings()
    if tenant != "default":
        from frontdesk.tenants.cli import get_tenant

        try:  # a tenant's documents go to its bot's collection
            own = get_tenant(settings.resolved_database_url, tenant).config.bot.knowledge
        except FrontdeskError as exc:
            err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from exc
        collection = collection or own.collection
    if collection is None:
        try:
            collection = load_bot_config(settings.bot_config).knowledge.collection
        except ConfigError:
            collection = "default"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedder = LocalEmbedder.load()
    store = open_store(settings.resolved_database_url)
    try:
        with rich_ingest_progress(err) as progress:
            summary = asyncio.run(
                run_ingest(
                    paths,
                    store=store,
                    embedder=embedder,
                    collection=collection,
                    tenant=tenant,
                    prune=prune,
                    reembed=reembed,
                    progress=progress,
                    limits=limits_from(settings),  # files parsed in a guarded worker
                )
            )
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    Console().print(summary.describe())
    if summary.failed:
        raise typer.Exit(1)


@eval_app.command("retrieval")
def eval_retrieval(
    directory: Annotated[
        Path, typer.Argument(help="A BEIR folder: corpus.jsonl, queries.jsonl, qrels/")
    ],
    split: Annotated[str, typer.Option(help="qrels split")] = "test",
) -> None:
    """Recall@5/10/20, MRR@10 and nDCG@10 for lexical, vector and hybrid retrieval."""
    from frontdesk.knowledge.embedding import LocalEmbedder
    from frontdesk.knowledge.eval import evaluate_beir

    if not directory.is_dir():
        err.print(f"[red]error:[/red] {directory} is not a folder")
        raise typer.Exit(2)
    try:
        report = asyncio.run(evaluate_beir(directory, LocalEmbedder.load(), split=split))
    except (FrontdeskError, OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    Console(width=200).print(report.table())


@eval_app.command("answers")
def eval_answers(
    case_set: Annotated[Path, typer.Argument(help="Golden cases (JSONL or YAML)")],
    bot_config: Annotated[
        Path | None, typer.Option("--bot", help="Bot YAML (default from settings)")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for results, summary and report")] = Path(
        "eval-out"
    ),
    url: Annotated[
        str | None, typer.Option(help="Evaluate a running server instead of an in-process one")
    ] = None,
    knowledge: Annotated[
        list[Path] | None, typer.Option(help="Documents to ingest in-process (default sample_kb)")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Cases at once")] = 2,
    subset: Annotated[
        str, typer.Option(help="all, dev, holdout, or a name from <set>.subsets.json")
    ] = "all",
    chunk_tokens: Annotated[
        int | None,
        typer.Option(min=8, help="Chunk the in-process documents at N tokens (a chunking change)"),
    ] = None,
) -> None:
    """Run the golden set through the real chat API and score every answer."""
    from frontdesk.evaluation.cli_support import run_answers

    code = run_answers(
        case_set, bot_config=bot_config, out=out, url=url, knowledge=knowledge,
        concurrency=concurrency, subset=subset, settings=_settings(bot_config=bot_config),
        chunk_tokens=chunk_tokens,
    )  # fmt: skip
    if code:
        raise typer.Exit(code)


@eval_app.command("compare")
def eval_compare(
    base: Annotated[Path, typer.Argument(help="Baseline: --out folder, summary.json or results")],
    new: Annotated[Path, typer.Argument(help="New run: --out folder, summary.json or results")],
    tolerance: Annotated[
        list[str] | None,
        typer.Option(help="METRIC=DROP allowed (repeatable; default=N for all gated metrics)"),
    ] = None,
) -> None:
    """Per-metric deltas and changed cases; exit 1 when a metric got worse past its tolerance."""
    from frontdesk.evaluation.cli_support import run_compare

    code = run_compare(base, new, tolerance or [])
    if code:
        raise typer.Exit(code)


@eval_app.command("export")
def eval_export(
    out: Annotated[Path | None, typer.Option(help="JSONL file (default: stdout)")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many candidates")] = 500,
) -> None:
    """Thumbs-down and escalated conversations as candidate cases (JSONL) for review."""
    from frontdesk.evaluation.cli_support import run_export

    run_export(_settings(), out, limit)


@app.command()
def costs(
    by: Annotated[
        str, typer.Option(help="Comma-separated grouping: day, bot, model, conversation, tenant")
    ] = "day,bot,model",
    days: Annotated[int | None, typer.Option(help="Only the last N days")] = None,
) -> None:
    """Spend by day, bot, model and conversation, from the turn records."""
    from datetime import UTC, datetime, timedelta

    from rich.table import Table

    from frontdesk.memory.dialects import create_engine
    from frontdesk.memory.reports import GroupBy, SpendRow, spend

    allowed = ("day", "bot", "model", "conversation", "tenant")
    groups = [g.strip() for g in by.split(",") if g.strip()]
    bad = [g for g in groups if g not in allowed]
    if bad or not groups:
        err.print(f"[red]error:[/red] --by takes {', '.join(allowed)}; got {by!r}")
        raise typer.Exit(2)
    settings = _settings()
    since = datetime.now(UTC) - timedelta(days=days) if days else None

    async def load() -> list[SpendRow]:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await spend(engine, cast(list[GroupBy], groups), since=since)
        finally:
            await engine.dispose()

    rows = asyncio.run(load())
    table = Table(*groups, "turns", "input tokens", "output tokens", "cost (USD)")
    total = Decimal(0)
    for row in rows:
        total += row.cost
        counts = (str(row.turns), str(row.input_tokens), str(row.output_tokens))
        table.add_row(*row.key, *counts, f"{row.cost:.6f}")
    out = Console() if sys.stdout.isatty() else Console(width=200)
    out.print(table)
    out.print(f"total: {total:.6f} USD")


@app.command()
def chat(
    url: Annotated[
        str | None, typer.Option(help="Talk to a running server instead of in-process")
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="Talk to this tenant's bot (default: the bot YAML's)")
    ] = None,
    site_key: Annotated[
        str | None, typer.Option(help="With --url: the tenant's public site key")
    ] = None,
) -> None:
    """A terminal chat that streams the bot's answers."""
    from frontdesk.repl import run_repl

    if url and tenant:
        err.print("[red]error:[/red] with --url, choose the tenant by its --site-key")
        raise typer.Exit(2)
    settings = _settings()
    try:
        asyncio.run(run_repl(settings, url=url, tenant=tenant, site_key=site_key))
    except (ConfigError, FrontdeskError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        err.print("bye")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, agent or client")],
    name: Annotated[str, typer.Option(help="Who or what the key is for")],
    tenant: Annotated[str, typer.Option(help="Tenant the key belongs to")] = "default",
) -> None:
    """Create an API key; the key is printed once (only its hash is stored)."""
    from frontdesk.auth.cli import create_key

    settings = _settings()
    try:
        created = create_key(settings.resolved_database_url, role=role, name=name, tenant_id=tenant)
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    err.print(
        f"created {role} key {created.info.id} for {name}; store it now, it is not shown again"
    )
    if tenant != "default":
        from frontdesk.tenants.cli import tenant_exists

        if not tenant_exists(settings.resolved_database_url, tenant):
            err.print(
                f"[yellow]warning:[/yellow] tenant {tenant!r} has no record: its chat and "
                f"documents need `frontdesk tenants create {tenant} --file ...`"
            )
    print(created.token)


@keys_app.command("list")
def keys_list() -> None:
    """List API keys (never the keys themselves)."""
    from frontdesk.auth.cli import list_keys

    for key in list_keys(_settings().resolved_database_url):
        state = "revoked" if key.revoked_at else "active"
        print(f"{key.id}  {key.prefix}…  {key.role:<6} {key.tenant_id:<12} {key.name}  {state}")


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see keys list)")],
) -> None:
    """Revoke an API key at once."""
    from frontdesk.auth.cli import revoke_key

    if not revoke_key(_settings().resolved_database_url, key_id):
        err.print(f"[red]error:[/red] no active key {key_id}")
        raise typer.Exit(1)
    err.print(f"revoked {key_id}")


@tenants_app.command("create")
def tenants_create(
    tenant_id: Annotated[str, typer.Argument(help="Tenant id: lowercase letters, digits, - _")],
    file: Annotated[
        Path, typer.Option("--file", "-f", help="Tenant YAML: bot, branding, widget_origins")
    ],
    server_url: Annotated[
        str, typer.Option(help="Public URL of this server (for the widget snippet)")
    ] = "https://support.example.com",
) -> None:
    """Create a tenant from a YAML file; prints its public site key and widget snippet."""
    from frontdesk.tenants.cli import create_tenant, widget_snippet

    settings = _settings()
    try:
        record = create_tenant(settings.resolved_database_url, tenant_id, file)
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    err.print(
        f"created tenant {record.id} ({record.config.display_name}); "
        f"ingest its documents with `frontdesk ingest PATH --tenant {record.id}`"
    )
    err.print("embed its chat with: " + widget_snippet(server_url, record))
    print(record.site_key)


@tenants_app.command("update")
def tenants_update(
    tenant_id: Annotated[str, typer.Argument(help="Tenant id")],
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Replace the config with this YAML")
    ] = None,
    rotate_site_key: Annotated[
        bool, typer.Option(help="Issue a new site key (the old one stops working)")
    ] = False,
) -> None:
    """Replace a tenant's config and/or rotate its site key (live within a few seconds)."""
    from frontdesk.tenants.cli import update_tenant

    if file is None and not rotate_site_key:
        err.print("[red]error:[/red] nothing to update: give --file and/or --rotate-site-key")
        raise typer.Exit(2)
    settings = _settings()
    try:
        record = update_tenant(
            settings.resolved_database_url, tenant_id, file, rotate_site_key=rotate_site_key
        )
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    err.print(f"updated tenant {record.id}, config version {record.version}")
    print(record.site_key)


@tenants_app.command("list")
def tenants_list() -> None:
    """List tenants: id, site key, name, config version, widget origins."""
    from frontdesk.tenants.cli import list_line, list_tenants

    try:
        entries = list_tenants(_settings().resolved_database_url)
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    for entry in entries:
        print(list_line(entry))


@tenants_app.command("show")
def tenants_show(tenant_id: Annotated[str, typer.Argument(help="Tenant id")]) -> None:
    """Print a tenant's stored config and site key as JSON."""
    import json

    from frontdesk.tenants.cli import describe, get_tenant

    try:
        record = get_tenant(_settings().resolved_database_url, tenant_id)
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print(json.dumps(describe(record), indent=2, sort_keys=True))


@tenants_app.command("delete")
def tenants_delete(
    tenant_id: Annotated[str, typer.Argument(help="Tenant id")],
    yes: Annotated[
        bool, typer.Option("--yes", help="Confirm: delete the tenant and all its data")
    ] = False,
) -> None:
    """Delete a tenant with all its data: conversations, attachments, tickets, documents,
    API keys, usage records (prints what went, as JSON). Not undoable."""
    import json

    from frontdesk.tenants.cli import delete_tenant

    if not yes:
        err.print(
            f"[red]error:[/red] this deletes tenant {tenant_id!r} and all its data for good; "
            "run again with --yes"
        )
        raise typer.Exit(2)
    settings = _settings()
    err.print(
        f"disabling {tenant_id}; its data goes after {settings.api_key_cache_seconds:g} s "
        "(workers drop its cached record and keys)"
    )
    try:
        deleted = delete_tenant(settings, tenant_id)
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    print(json.dumps(deleted.as_json(), indent=2, sort_keys=True))


def _privacy_commands() -> None:
    """Replay, retention, erasure and export (their modules import their work lazily)."""
    from frontdesk.replay.cli import replay
    from frontdesk.retention.cli import conversations_app, retention_app, users_app

    app.command("replay")(replay)
    app.add_typer(retention_app, name="retention")
    app.add_typer(users_app, name="users")
    app.add_typer(conversations_app, name="conversations")


_privacy_commands()


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        err.print(f"[red]error:[/red] {exc}")
        sys.exit(2)


if __name__ == "__main__":
    main()
