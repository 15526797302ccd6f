"""``frontdesk replay TURN_ID [--endpoint E] [--url URL] [--json]``."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from frontdesk.errors import FrontdeskError
from frontdesk.settings import Settings

if TYPE_CHECKING:
    from frontdesk.services import Services

err = Console(stderr=True)


def replay(
    turn_id: Annotated[str, typer.Argument(help="The turn's id (admin dashboard, export)")],
    endpoint: Annotated[
        str | None, typer.Option(help="Replay with this endpoint of the bot instead")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(help="Ask a running server (POST /api/admin/turns/ID/replay) instead"),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the comparison as JSON")] = False,
    key: Annotated[
        str | None,
        typer.Option(
            envvar="FRONTDESK_REPLAY_KEY",
            help="With --url: an admin key of the turn's tenant (default: FRONTDESK_ADMIN_TOKEN, "
            "the default tenant's operator)",
        ),
    ] = None,
) -> None:
    """Run a recorded turn again (its prompt, sources and parameters) and show the difference
    from the stored answer; exit 1 when they differ."""
    from frontdesk.cli import _settings

    settings = _settings()
    try:
        if url is not None:
            result = asyncio.run(_remote(settings, url, turn_id, endpoint, key))
        else:
            result = asyncio.run(_in_process(settings, turn_id, endpoint))
    except FrontdeskError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if as_json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(describe(result), end="")
    if not result["same"]:
        raise typer.Exit(1)


async def _in_process(settings: Settings, turn_id: str, endpoint: str | None) -> dict[str, Any]:
    from frontdesk.config import load_bot_config
    from frontdesk.replay.build import replayer_for
    from frontdesk.wiring import open_services

    bot = load_bot_config(settings.bot_config)
    async with open_services(settings, bot) as services:
        replay = await replayer_for(await _turn_services(services, turn_id)).replay(
            turn_id, endpoint=endpoint
        )
        return replay.as_json()


async def _turn_services(services: Services, turn_id: str) -> Services:
    """The services of the turn's tenant: its own bot when it has a tenant record."""
    from frontdesk.tenants.resolve import services_of

    turn = await services.store.get_turn(turn_id)
    conversation = await services.store.get_conversation(turn.conversation_id) if turn else None
    if conversation is None or services.tenants is None:
        return services
    record = await services.tenants.by_id(conversation.tenant_id)
    return services if record is None else await services_of(services, record)


async def _remote(
    settings: Settings, url: str, turn_id: str, endpoint: str | None, key: str | None
) -> dict[str, Any]:
    import httpx

    from frontdesk.errors import ClientError

    token = key or settings.admin_token.get_secret_value()
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        response = await client.post(
            f"/api/admin/turns/{turn_id}/replay",
            json={"endpoint": endpoint},
            headers={"Authorization": f"Bearer {token}"},
        )
    if response.status_code != 200:
        detail = response.json().get("error", {}).get("message", response.text)
        raise ClientError(f"the server answered {response.status_code}: {detail}")
    result: dict[str, Any] = response.json()
    return result


def describe(result: dict[str, Any]) -> str:
    """The comparison for a terminal: verdict, notes, changed fields, the text diff."""
    versions = result["config_version"]
    lines = [
        f"turn {result['turn_id']} ({result['kind']}), replayed with {result['endpoint']}; "
        f"config {versions['recorded']} -> {versions['current']}",
    ]
    lines += [f"note: {n}" for n in result["notes"]]
    if result.get("error"):
        lines.append(f"replay error: {result['error']}")
    if result["same"]:
        lines.append("same answer: text and fields unchanged")
    for name, change in result["changed"].items():
        lines.append(f"{name}: {change['stored']!r} -> {change['replayed']!r}")
    text = "\n".join(lines) + "\n"
    if result["diff"]:
        text += result["diff"]
    elif not result["same"]:
        text += "answer text unchanged\n"
    return text
