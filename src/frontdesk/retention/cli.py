"""``frontdesk retention run``, ``frontdesk users erase``, ``frontdesk conversations export``.

They work on the database and the media folder of the settings (``FRONTDESK_HOME``), with
no server needed; another process may be serving the same data.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from frontdesk.errors import FrontdeskError
from frontdesk.settings import Settings

retention_app = typer.Typer(help="Retention: delete old conversations.", no_args_is_help=True)
users_app = typer.Typer(help="End users' data.", no_args_is_help=True)
conversations_app = typer.Typer(help="Conversations.", no_args_is_help=True)
err = Console(stderr=True)
T = TypeVar("T")


def _settings() -> Settings:
    from frontdesk.cli import _settings as load

    return load()


@asynccontextmanager
async def _privacy(settings: Settings) -> AsyncIterator[Any]:
    from frontdesk.media.store import FileMediaStore
    from frontdesk.memory.migrate import check_at_head
    from frontdesk.memory.sql import SqlMemoryStore
    from frontdesk.retention.service import MediaFiles, Privacy

    store = SqlMemoryStore.from_url(settings.resolved_database_url)
    try:
        await check_at_head(store.engine)
        yield Privacy(store, MediaFiles(FileMediaStore(settings.data_dir / "media")))
    finally:
        await store.close()


def _run(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    async def main() -> T:
        async with _privacy(settings) as privacy:
            return await work(privacy)

    try:
        return asyncio.run(main())
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@retention_app.command("run")
def retention_run(
    days: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="Keep this many days where a tenant sets no retention_days "
            "(default: FRONTDESK_RETENTION_DAYS)",
        ),
    ] = None,
    tenant: Annotated[
        str | None, typer.Option(help="Only this tenant (default: every tenant)")
    ] = None,
) -> None:
    """Delete conversations idle longer than the retention, now (prints what went, as JSON).

    Each tenant keeps its conversations for its own ``retention_days`` when its record sets
    one; the others for ``--days`` or ``FRONTDESK_RETENTION_DAYS``."""
    settings = _settings()
    fallback = days if days is not None else settings.retention_days
    report = _run(settings, lambda privacy: _apply(privacy, fallback, tenant))
    print(json.dumps(report.as_json(), indent=2))


async def _apply(privacy: Any, fallback: float | None, tenant: str | None) -> Any:
    from frontdesk.errors import ConfigError, NotFound
    from frontdesk.retention.policy import GlobalRetention
    from frontdesk.tenants.config import DEFAULT_TENANT
    from frontdesk.tenants.retention import tenant_retention
    from frontdesk.tenants.store import BrokenTenant, TenantStore

    records = TenantStore(privacy.store.engine)
    listed = await records.list()
    if tenant is not None and tenant != DEFAULT_TENANT:
        listed = [r for r in listed if r.id == tenant]
        if not listed:
            raise NotFound(f"no tenant {tenant!r}")
    own_days = any(
        not isinstance(r, BrokenTenant) and r.config.retention_days is not None for r in listed
    )
    if tenant == DEFAULT_TENANT:
        own_days = False
    if fallback is None and not own_days:
        raise ConfigError(
            "no retention: set FRONTDESK_RETENTION_DAYS or --days, or a tenant's retention_days"
        )
    policy = tenant_retention(records, GlobalRetention(fallback))
    return await privacy.apply(policy, tenants=None if tenant is None else [tenant])


@users_app.command("erase")
def users_erase(
    tenant: Annotated[str, typer.Option(help="The user's tenant")] = "default",
    user_id: Annotated[str | None, typer.Option(help="The integrator's metadata.user_id")] = None,
    session: Annotated[str | None, typer.Option(help="A browser session id")] = None,
    key_id: Annotated[str | None, typer.Option(help="An API key id (see keys list)")] = None,
) -> None:
    """Erase every conversation of one end user (messages, turns, tickets, attachments)."""
    from frontdesk.memory.privacy import UserRef

    if not (user_id or session or key_id):
        err.print("[red]error:[/red] name the user with --user-id, --session or --key-id")
        raise typer.Exit(2)
    user = UserRef(user_id=user_id, session=session, key_id=key_id)
    erased = _run(_settings(), lambda privacy: privacy.erase_user(tenant, user))
    print(json.dumps(erased.as_json()))


@conversations_app.command("export")
def conversations_export(
    conversation_id: Annotated[str, typer.Argument(help="The conversation's id")],
    tenant: Annotated[str, typer.Option(help="The conversation's tenant")] = "default",
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout)")] = None,
) -> None:
    """Everything stored about one conversation, as JSON (frontdesk.conversation.v1)."""
    document = _run(_settings(), lambda privacy: privacy.export(tenant, conversation_id))
    text = json.dumps(document, indent=2, ensure_ascii=False)
    if out is None:
        sys.stdout.write(text + "\n")
    else:
        out.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {out}")
