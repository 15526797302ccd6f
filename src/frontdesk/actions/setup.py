"""The bot's actions resolved for a running app: base URL, secrets and header values read
from the environment, OpenAPI operations imported."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from frontdesk.actions.acting_for import ActingFor
from frontdesk.actions.config import ActionConfig, ActionsConfig
from frontdesk.actions.openapi import load_openapi_actions
from frontdesk.errors import ConfigError

MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class ResolvedActions:
    config: ActionsConfig
    definitions: Mapping[str, ActionConfig]
    base_url: str | None
    acting_for: ActingFor | None
    """None: the action secret is not set, so no action can act for anyone."""
    header_values: Mapping[str, Mapping[str, SecretStr]] = field(default_factory=dict)
    """Per action: header name -> value read from the variable ``header_env`` names."""

    def get(self, name: str) -> ActionConfig | None:
        return self.definitions.get(name)


def resolve_actions(
    config: ActionsConfig,
    environ: Mapping[str, str] | None = None,
    *,
    base_dir: Path | None = None,
    required: bool = False,
) -> ResolvedActions | None:
    """None when the bot has no actions. Without the action secret the actions exist but
    refuse to run (``required``, i.e. production: refuse to start instead)."""
    if not config.enabled:
        return None
    env = os.environ if environ is None else environ
    definitions = list(config.definitions)
    if config.openapi is not None:
        path = Path(config.openapi.path)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        known = {a.name for a in definitions}
        definitions += [
            a for a in load_openapi_actions(path, config.openapi.operations) if a.name not in known
        ]
    base_url = (env.get(config.base_url_env) if config.base_url_env else None) or config.base_url
    if base_url is not None and not base_url.startswith(("http://", "https://")):
        raise ConfigError(f"actions base_url must be http(s): {base_url!r}")
    if base_url is None and any(a.endpoint.url.startswith("{base_url}") for a in definitions):
        raise ConfigError(
            "actions use {base_url} but neither actions.base_url nor "
            f"{config.base_url_env or 'actions.base_url_env'} is set"
        )
    acting_for = None
    secret = env.get(config.secret_env, "") if config.secret_env else ""
    if secret:
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"{config.secret_env}: at least {MIN_SECRET_BYTES} bytes needed")
        acting_for = ActingFor(
            SecretStr(secret),
            audience=config.acting_for_audience,
            ttl_seconds=config.token_ttl_seconds,
        )
    elif required:
        raise ConfigError(
            f"the bot has actions but {config.secret_env or 'actions.secret_env'} is not set"
        )
    headers: dict[str, dict[str, SecretStr]] = {}
    for action in definitions:
        values = {}
        for header, variable in action.endpoint.header_env.items():
            if not env.get(variable):
                if required:
                    raise ConfigError(f"action {action.name}: {variable} is not set")
                continue
            values[header] = SecretStr(env[variable])
        headers[action.name] = values
    return ResolvedActions(
        config=config,
        definitions={a.name: a for a in definitions},
        base_url=base_url.rstrip("/") if base_url else None,
        acting_for=acting_for,
        header_values=headers,
    )
