"""The sample bot's actions against the fake Northwind API on a loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from frontdesk.actions.config import ActionsConfig
from frontdesk.actions.setup import ResolvedActions, resolve_actions
from frontdesk.config import BotConfig, load_bot_config
from frontdesk.demo.northwind_api import NorthwindState, create_northwind_app
from frontdesk.identity import Identity
from tests.servers import serve

ROOT = Path(__file__).resolve().parents[2]
ACTION_SECRET = "northwind-action-secret-for-tests-0123456789"
DANA = Identity(
    tenant="default",
    user_id="u_1001",
    method="jwt",
    email="dana@acme.example",
    plan="Growth",
    claims={"sub": "u_1001", "workspace": "Acme Analytics"},
)
SAM = Identity(tenant="default", user_id="u_2002", method="hmac", claims={"sub": "u_2002"})


def sample_bot() -> BotConfig:
    return load_bot_config(ROOT / "config" / "bot.yaml")


@dataclass
class Northwind:
    url: str
    state: NorthwindState

    def actions(self, **overrides: object) -> ResolvedActions:
        config = sample_bot().actions.model_copy(update=overrides)
        resolved = resolve_actions(
            ActionsConfig.model_validate(config.model_dump()),
            {"NORTHWIND_API_URL": self.url, "NORTHWIND_ACTION_SECRET": ACTION_SECRET},
        )
        assert resolved is not None
        return resolved


@contextmanager
def northwind() -> Iterator[Northwind]:
    state = NorthwindState(secret=ACTION_SECRET)
    with serve(create_northwind_app(state)) as url:
        yield Northwind(url, state)
