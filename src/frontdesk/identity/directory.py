"""Which verifier a tenant's requests go through: the seam for per-tenant identity config."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Protocol

from frontdesk.identity.config import IdentitySection, identity_config_for, unset_variables
from frontdesk.identity.verifier import IdentityVerifier

log = logging.getLogger(__name__)


class IdentityDirectory(Protocol):
    def verifier(self, tenant: str) -> IdentityVerifier: ...


class StaticDirectory:
    """Verifiers built at start-up; a tenant without one verifies nobody (anonymous)."""

    def __init__(self, verifiers: Mapping[str, IdentityVerifier]) -> None:
        self._verifiers = dict(verifiers)

    def verifier(self, tenant: str) -> IdentityVerifier:
        found = self._verifiers.get(tenant)
        return found if found is not None else IdentityVerifier(None, tenant=tenant)

    @classmethod
    def for_bot(
        cls,
        section: IdentitySection | None,
        environ: Mapping[str, str] | None = None,
        *,
        required: bool = False,
    ) -> StaticDirectory:
        """The default tenant's verifier from the bot config's ``identity`` section."""
        env = os.environ if environ is None else environ
        config = identity_config_for("default", section, env, required=required)
        missing = unset_variables(section, env)
        if missing:
            log.warning(
                "identity: %s not set; those identities are not accepted (anonymous)",
                ", ".join(missing),
            )
        return cls({} if config is None else {"default": IdentityVerifier(config)})
