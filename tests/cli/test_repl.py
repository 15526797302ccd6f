"""``frontdesk chat --url``: the REPL streams answers from a running server over SSE."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.repl import run_repl
from frontdesk.settings import Settings
from tests.apphelpers import Running


def lines(*typed: str) -> Callable[[], str]:
    pending = list(typed)

    def read() -> str:
        if not pending:
            raise EOFError
        return pending.pop(0)

    return read


def test_remote_repl_streams_answers_and_shows_errors(running: Running, migrated: Settings) -> None:
    provider = ScriptedProvider(steps=[Step("Your parcel arrives tomorrow."), Step("Bye!")])
    out: list[str] = []
    with running(provider, max_message_chars=50) as client:
        url = str(client.base_url)
        read = lines("where is my parcel?", "x" * 51, "  ", "thanks", "/quit", "never sent")
        asyncio.run(run_repl(migrated, url=url, write=out.append, read=read))
    shown = "".join(out)
    assert "(type /quit to leave)" in shown
    assert "bot> Your parcel arrives tomorrow.\n" in shown
    assert "bot> [error] message is 51 characters; the limit is 50\n" in shown
    assert "bot> Bye!\n" in shown
    assert shown.count("bot> ") == 3  # a blank line is skipped, /quit ends the session
    assert len(provider.requests) == 2
