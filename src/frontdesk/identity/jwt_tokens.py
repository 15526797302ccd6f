"""Verifying a customer JWT signed by the company's backend (HS256, RS256 or EdDSA).

Fail closed: the algorithm must be one configured (``alg: none`` and HS256-with-a-public-key
confusion are impossible: each algorithm has its own key, chosen before decoding); ``exp``,
``iat`` and the user claim are required; ``exp - iat`` may not exceed the configured lifetime;
``iss`` and ``aud`` must match when configured; the clock-skew leeway is at most 2 minutes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.types import Options

from frontdesk.errors import ConfigError
from frontdesk.identity.claims import safe_claims
from frontdesk.identity.config import JwtConfig
from frontdesk.identity.model import Anonymous, Identity, RejectReason, Verification

MAX_TOKEN_CHARS = 8192


def _public_key(pem: str) -> tuple[Any, set[str]]:
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"identity.jwt public key is not a PEM public key: {exc}") from exc
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise ConfigError("identity.jwt RSA public key must be at least 2048 bits")
        return key, {"RS256"}
    if isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return key, {"EdDSA"}
    raise ConfigError("identity.jwt public key must be RSA (RS256) or Ed25519/Ed448 (EdDSA)")


class JwtVerifier:
    """Verifies one tenant's customer tokens."""

    def __init__(
        self, tenant: str, config: JwtConfig, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.tenant = tenant
        self.config = config
        self._clock = clock
        self._keys: dict[str, Any] = {}
        if config.secret is not None and "HS256" in config.algorithms:
            self._keys["HS256"] = config.secret.get_secret_value().encode()
        if config.public_key is not None:
            key, fits = _public_key(config.public_key.get_secret_value())
            for alg in fits & set(config.algorithms):
                self._keys[alg] = key
        if not self._keys:
            raise ConfigError("identity.jwt: no usable key for the configured algorithms")

    @property
    def algorithms(self) -> list[str]:
        return sorted(self._keys)

    def verify(self, token: str) -> Verification:
        if len(token) > MAX_TOKEN_CHARS:
            return Anonymous("oversized", f"longer than {MAX_TOKEN_CHARS} characters")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            return Anonymous("malformed", "not a compact JWT")
        alg = header.get("alg")
        key = self._keys.get(alg) if isinstance(alg, str) else None
        if key is None or not isinstance(alg, str):
            return Anonymous("algorithm_not_allowed", f"alg {str(alg)[:16]!r} is not accepted")
        try:
            claims = self._decode(token, key, alg)
        except jwt.InvalidTokenError as exc:
            reason, detail = _reason(exc)
            return Anonymous(reason, detail)
        return self._identity(claims)

    def _decode(self, token: str, key: Any, alg: str) -> dict[str, Any]:
        """PyJWT checks the signature, ``aud``, ``iss`` and the required claims; the times are
        checked here on our clock (one clock for tests and production)."""
        c = self.config
        options: Options = {
            "require": ["exp", "iat", c.user_claim],
            "verify_aud": c.audience is not None,
            "verify_iss": c.issuer is not None,
            "verify_exp": False,
            "verify_iat": False,
            "verify_nbf": False,
        }
        claims: dict[str, Any] = jwt.decode(
            token, key, algorithms=[alg], audience=c.audience, issuer=c.issuer, options=options
        )
        now, leeway = self._clock(), c.leeway_seconds
        exp, iat = _number(claims, "exp"), _number(claims, "iat")
        if exp <= now - leeway:
            raise jwt.ExpiredSignatureError("the token has expired")
        if iat > now + leeway:
            raise _IssuedInFuture("iat is in the future")
        if "nbf" in claims and _number(claims, "nbf") > now + leeway:
            raise jwt.ImmatureSignatureError("nbf is in the future")
        return claims

    def _identity(self, claims: Mapping[str, Any]) -> Verification:
        c = self.config
        try:
            exp, iat = _number(claims, "exp"), _number(claims, "iat")
        except jwt.InvalidTokenError:
            return Anonymous("malformed", "exp and iat must be numbers")
        if exp - iat > c.max_lifetime_seconds + c.leeway_seconds:
            return Anonymous(
                "lifetime_too_long",
                f"exp - iat is {int(exp - iat)} s; at most {c.max_lifetime_seconds} s accepted",
            )
        user = claims.get(c.user_claim)
        if not isinstance(user, str | int) or isinstance(user, bool) or not str(user).strip():
            return Anonymous("missing_claim", f"{c.user_claim} must be a non-empty string")
        user_id = str(user).strip()
        if len(user_id) > 256:
            return Anonymous("malformed", f"{c.user_claim} is longer than 256 characters")
        return Identity(
            tenant=self.tenant,
            user_id=user_id,
            method="jwt",
            email=_text(claims, c.email_claim),
            name=_text(claims, c.name_claim),
            plan=_text(claims, c.plan_claim),
            claims=safe_claims(claims),
            expires_at=datetime.fromtimestamp(exp, UTC),
        )


def _number(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise jwt.DecodeError(f"{name} must be a number")
    return float(value)


def _text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value[:256] if isinstance(value, str) and value else None


class _IssuedInFuture(jwt.ImmatureSignatureError):
    pass


_REASONS: tuple[tuple[type[jwt.InvalidTokenError], RejectReason], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (_IssuedInFuture, "issued_in_future"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
)


def _reason(exc: jwt.InvalidTokenError) -> tuple[RejectReason, str]:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason, str(exc)[:120]
    return "malformed", type(exc).__name__
