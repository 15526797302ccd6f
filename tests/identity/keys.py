"""Signing helpers for identity tests: what a company's backend does."""

from __future__ import annotations

import time
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

SECRET = "northwind-identity-secret-for-tests-0123456789"
HMAC_SECRET = "northwind-user-hash-secret-for-tests-abcdef"
NOW = 1_800_000_000.0


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "u_1001",
        "email": "dana@acme.example",
        "plan": "Growth",
        "workspace": "acme",
        "iss": "https://app.northwind.example",
        "aud": "frontdesk",
        "iat": int(NOW) - 10,
        "exp": int(NOW) + 600,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def hs256(**overrides: Any) -> str:
    return jwt.encode(claims(**overrides), SECRET, algorithm="HS256")


def rsa_keys() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem.decode()


def ed25519_keys() -> tuple[ed25519.Ed25519PrivateKey, str]:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return key, pem.decode()


def live_hs256(lifetime: int = 600, **overrides: Any) -> str:
    """A token valid now on the real clock (for app tests)."""
    now = int(time.time())
    return hs256(iat=now, exp=now + lifetime, **overrides)
