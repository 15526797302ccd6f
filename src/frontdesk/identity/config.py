"""Identity configuration: the bot YAML names where the secrets are; the resolved, typed
:class:`IdentityConfig` holds them as ``SecretStr``.

The YAML never holds a secret, only the names of the environment variables that do (like an
endpoint's ``api_key_env``)::

    identity:
      jwt:
        algorithms: [HS256]               # HS256 | RS256 | EdDSA
        secret_env: NORTHWIND_IDENTITY_SECRET   # HS256
        # public_key_env: NORTHWIND_IDENTITY_PUBLIC_KEY   # RS256 / EdDSA (PEM)
        issuer: https://app.northwind.example
        audience: frontdesk
        max_lifetime_seconds: 3600
        leeway_seconds: 30
      hmac:
        secret_env: NORTHWIND_USER_HASH_SECRET

:func:`identity_config_for` is the per-tenant seam: each tenant's bot config has its own
``identity`` section (the default tenant's is the bot YAML's).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from frontdesk.errors import ConfigError

Algorithm = Literal["HS256", "RS256", "EdDSA"]
MIN_SECRET_BYTES = 32


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JwtSection(_Strict):
    """``identity.jwt`` of the bot YAML."""

    algorithms: list[Algorithm] = Field(min_length=1)
    secret_env: str | None = Field(None, description="Variable holding the HS256 secret")
    public_key_env: str | None = Field(
        None, description="Variable holding the PEM public key (RS256 / EdDSA)"
    )
    issuer: str | None = Field(None, description="Required `iss` when set")
    audience: str | None = Field(None, description="Required `aud` when set")
    max_lifetime_seconds: int = Field(
        3600, ge=30, le=86400, description="Longest exp - iat accepted (short-lived tokens)"
    )
    leeway_seconds: int = Field(30, ge=0, le=120, description="Clock skew allowed")
    user_claim: str = "sub"
    email_claim: str = "email"
    name_claim: str = "name"
    plan_claim: str = "plan"

    @model_validator(mode="after")
    def _keys(self) -> JwtSection:
        if "HS256" in self.algorithms and not self.secret_env:
            raise ValueError("identity.jwt: HS256 needs secret_env")
        if {"RS256", "EdDSA"} & set(self.algorithms) and not self.public_key_env:
            raise ValueError("identity.jwt: RS256/EdDSA need public_key_env")
        return self


class HmacSection(_Strict):
    """``identity.hmac`` of the bot YAML: hex HMAC-SHA256 of the user id."""

    secret_env: str


class IdentitySection(_Strict):
    """``identity`` of the bot YAML (absent: every visitor is anonymous)."""

    jwt: JwtSection | None = None
    hmac: HmacSection | None = None


class JwtConfig(_Strict):
    algorithms: tuple[Algorithm, ...]
    secret: SecretStr | None = None
    public_key: SecretStr | None = None
    """Not secret, but kept out of reprs and logs like the rest."""
    issuer: str | None = None
    audience: str | None = None
    max_lifetime_seconds: int = 3600
    leeway_seconds: int = 30
    user_claim: str = "sub"
    email_claim: str = "email"
    name_claim: str = "name"
    plan_claim: str = "plan"


class HmacConfig(_Strict):
    secret: SecretStr


class IdentityConfig(_Strict):
    """One tenant's resolved identity verification (secrets included)."""

    tenant: str
    jwt: JwtConfig | None = None
    hmac: HmacConfig | None = None


def _secret(name: str, env: Mapping[str, str], *, what: str) -> SecretStr | None:
    value = env.get(name, "")
    if not value:
        return None
    if what == "secret" and len(value.encode()) < MIN_SECRET_BYTES:
        raise ConfigError(
            f"{name}: an identity secret needs at least {MIN_SECRET_BYTES} bytes "
            f"(got {len(value.encode())})"
        )
    return SecretStr(value)


def resolve(
    section: IdentitySection | None,
    tenant: str,
    environ: Mapping[str, str] | None = None,
    *,
    required: bool = False,
) -> IdentityConfig | None:
    """The typed config of ``section``, secrets read from ``environ``.

    A configured verifier whose variable is unset is dropped (its visitors are anonymous);
    with ``required`` (production) that refuses to start instead. None: nothing to verify.
    """
    if section is None:
        return None
    env = os.environ if environ is None else environ
    missing: list[str] = []
    jwt = None
    if section.jwt is not None:
        j = section.jwt
        secret = _secret(j.secret_env, env, what="secret") if j.secret_env else None
        public = _secret(j.public_key_env, env, what="key") if j.public_key_env else None
        algorithms = tuple(
            a for a in j.algorithms if (secret if a == "HS256" else public) is not None
        )
        missing += [
            n for n, v in ((j.secret_env, secret), (j.public_key_env, public)) if n and v is None
        ]
        if algorithms:
            jwt = JwtConfig(
                algorithms=algorithms,
                secret=secret,
                public_key=public,
                issuer=j.issuer,
                audience=j.audience,
                max_lifetime_seconds=j.max_lifetime_seconds,
                leeway_seconds=j.leeway_seconds,
                user_claim=j.user_claim,
                email_claim=j.email_claim,
                name_claim=j.name_claim,
                plan_claim=j.plan_claim,
            )
    hmac = None
    if section.hmac is not None:
        secret = _secret(section.hmac.secret_env, env, what="secret")
        if secret is None:
            missing.append(section.hmac.secret_env)
        else:
            hmac = HmacConfig(secret=secret)
    if missing and required:
        raise ConfigError(
            "identity is configured but these variables are not set: " + ", ".join(missing)
        )
    if jwt is None and hmac is None:
        return None
    return IdentityConfig(tenant=tenant, jwt=jwt, hmac=hmac)


def unset_variables(section: IdentitySection | None, environ: Mapping[str, str]) -> list[str]:
    """The configured secret variables that are not set (for a start-up warning)."""
    if section is None:
        return []
    names = []
    if section.jwt is not None:
        names += [n for n in (section.jwt.secret_env, section.jwt.public_key_env) if n]
    if section.hmac is not None:
        names.append(section.hmac.secret_env)
    return [n for n in names if not environ.get(n)]


def identity_config_for(
    tenant: str,
    section: IdentitySection | None,
    environ: Mapping[str, str] | None = None,
    *,
    required: bool = False,
) -> IdentityConfig | None:
    """The identity verification of ``tenant``: the ``identity`` section of that tenant's bot
    config (the default tenant's is the bot YAML's), with its secrets from the environment."""
    return resolve(section, tenant, environ, required=required)
