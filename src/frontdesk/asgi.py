"""The app of one worker process of ``frontdesk serve --workers N``.

uvicorn starts each worker in a fresh interpreter and calls :func:`worker_app` there
(``factory=True``): the worker reads its settings from the environment the parent
left (``FRONTDESK_*``), so every worker builds the same app. Nothing happens at import.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from frontdesk.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

WORKER_APP = "frontdesk.asgi:worker_app"


@contextmanager
def long_lived() -> Iterator[None]:
    """Build what lives as long as the process with the cyclic collector off, then freeze it.

    Building the app creates ~130,000 objects that are never freed (modules, classes, pydantic
    and SQLAlchemy structures). Each full collection scans all of them: ~0.1 s of CPU, twice
    while the app's modules are imported and again later while serving. Inside the block the
    collector is off (reference counting still frees everything that is not a cycle); at the end
    ``gc.freeze()`` moves every object alive to the permanent generation, which later
    collections skip, and the collector is on again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if was_enabled:
            gc.enable()


def shared_state_problem(settings: Settings) -> str | None:
    """Why ``settings`` cannot run several workers, or None.

    Workers share nothing in memory, so rate limits, budgets and live events need Redis,
    and the conversations, queues and knowledge base need one database server.
    """
    if not settings.resolved_database_url.startswith("postgresql"):
        return (
            "several workers need a shared database: set FRONTDESK_DATABASE_URL to a "
            "postgresql:// URL (SQLite serves one worker)"
        )
    if not settings.redis_url:
        return (
            "several workers need FRONTDESK_REDIS_URL: rate limits, budgets and live agent "
            "messages are shared through Redis"
        )
    return None


def worker_app() -> FastAPI:
    """Build one worker's app from the environment (called by uvicorn in the worker)."""
    with long_lived():
        from frontdesk.app import create_app
        from frontdesk.config import load_bot_config
        from frontdesk.logging_setup import configure_logging
        from frontdesk.settings import load_settings

        settings = load_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json)
        return create_app(settings, bot=load_bot_config(settings.bot_config))
