"""``frontdesk chat``: a terminal REPL that streams answers.

In-process by default (builds the same services as the server), or against a
running server with ``--url``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from frontdesk.config import load_bot_config
from frontdesk.errors import NotFound
from frontdesk.events import Notice, TextDelta, TurnError
from frontdesk.settings import Settings

PROMPT = "you> "
Write = Callable[[str], None]
Read = Callable[[], str]
"""Reads one line; raises EOFError at the end of input."""


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


async def _lines(read: Callable[[], str]) -> AsyncIterator[str]:
    while True:
        try:
            line = await asyncio.to_thread(read)
        except EOFError:
            return
        text = line.strip()
        if text in ("/quit", "/exit"):
            return
        if text:
            yield text


def _read() -> str:
    return input(PROMPT)


async def run_repl(
    settings: Settings,
    *,
    url: str | None = None,
    tenant: str | None = None,
    site_key: str | None = None,
    write: Write = _write,
    read: Read = _read,
) -> None:
    """In-process (the ``tenant``'s bot; default: the bot YAML), or against the server at
    ``url`` (the tenant of ``site_key``)."""
    if url:
        await _remote(url, write, read, site_key=site_key)
    else:
        await _in_process(settings, write, read, tenant=tenant)


async def _in_process(
    settings: Settings, write: Write, read: Read, *, tenant: str | None = None
) -> None:
    from frontdesk.memory.migrate import upgrade
    from frontdesk.tenants.config import DEFAULT_TENANT
    from frontdesk.tenants.resolve import services_of
    from frontdesk.wiring import open_services

    bot = load_bot_config(settings.bot_config)
    await asyncio.to_thread(upgrade, settings.resolved_database_url)
    async with open_services(settings, bot) as base:
        services = base
        if tenant is not None and tenant != DEFAULT_TENANT:
            record = await base.tenants.by_id(tenant) if base.tenants is not None else None
            if record is None:
                raise NotFound(f"no tenant {tenant!r} (see `frontdesk tenants list`)")
            services = await services_of(base, record)
        bot = services.bot
        conv = await services.chat.start_conversation({"channel": "cli"})
        write(f"{bot.name}: {bot.greeting}\n(type /quit to leave)\n")
        async for text in _lines(read):
            write("bot> ")
            try:
                turn = await services.chat.prepare_turn(conv.id, text)
            except Exception as exc:  # a client error: show it and keep the REPL alive
                write(f"[error] {exc}\n")
                continue
            async for ev in turn.events():
                if isinstance(ev, TextDelta):
                    write(ev.text)
                elif isinstance(ev, Notice):
                    write(f"\n[notice] {ev.message}\n")
                elif isinstance(ev, TurnError):
                    write(f"\n[error] {ev.message}")
            write("\n")


async def _remote(url: str, write: Write, read: Read, *, site_key: str | None = None) -> None:
    from frontdesk.tenants.resolve import SITE_HEADER

    base = url.rstrip("/")
    headers = {SITE_HEADER: site_key} if site_key else {}
    timeout = httpx.Timeout(10, read=120)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, headers=headers) as client:
        resp = await client.post("/api/conversations", json={})
        resp.raise_for_status()
        conv = resp.json()
        write(f"{conv.get('greeting') or 'Connected.'}\n(type /quit to leave)\n")
        path = f"/api/conversations/{conv['id']}/messages"
        async for text in _lines(read):
            write("bot> ")
            async with aconnect_sse(client, "POST", path, json={"content": text}) as source:
                r = source.response
                if r.status_code >= 400:
                    body = json.loads(await r.aread())
                    write(f"[error] {body['error']['message']}\n")
                    continue
                async for sse in source.aiter_sse():
                    _show(sse.event, sse.json(), write)
            write("\n")


def _show(event: str, data: dict[str, Any], write: Write) -> None:
    if event == "delta":
        write(data["text"])
    elif event == "error":
        write(f"\n[error] {data['message']}")
    elif event == "notice":
        write(f"\n[notice] {data['message']}\n")
