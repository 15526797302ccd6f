from __future__ import annotations

import base64
import json
import logging

import jwt
import pytest
from pydantic import SecretStr

from frontdesk.errors import ConfigError
from frontdesk.identity import (
    Anonymous,
    HmacConfig,
    Identity,
    IdentityConfig,
    IdentitySection,
    IdentityVerifier,
    JwtConfig,
    Presented,
    identity_config_for,
)
from frontdesk.identity.user_hash import user_hash
from tests.identity.keys import HMAC_SECRET, NOW, SECRET, claims, ed25519_keys, hs256, rsa_keys


def verifier(**jwt_overrides: object) -> IdentityVerifier:
    options: dict[str, object] = {
        "algorithms": ("HS256",),
        "secret": SecretStr(SECRET),
        "issuer": "https://app.northwind.example",
        "audience": "frontdesk",
        "max_lifetime_seconds": 3600,
        "leeway_seconds": 30,
        **jwt_overrides,
    }
    config = IdentityConfig(
        tenant="default",
        jwt=JwtConfig.model_validate(options),
        hmac=HmacConfig(secret=SecretStr(HMAC_SECRET)),
    )
    return IdentityVerifier(config, clock=lambda: NOW)


def reason(result: object) -> str:
    assert isinstance(result, Anonymous), result
    return result.reason


def test_a_valid_hs256_token_is_the_customer_with_their_claims() -> None:
    result = verifier().verify(Presented(token=hs256()))
    assert isinstance(result, Identity)
    assert (result.user_id, result.email, result.plan) == ("u_1001", "dana@acme.example", "Growth")
    assert result.claims["workspace"] == "acme"
    assert result.method == "jwt"
    assert result.key == "customer:default:u_1001"


@pytest.mark.parametrize(
    ("token_claims", "expected"),
    [
        ({"exp": int(NOW) - 31}, "expired"),
        ({"iat": int(NOW) + 120, "exp": int(NOW) + 600}, "issued_in_future"),
        ({"nbf": int(NOW) + 300}, "not_yet_valid"),
        ({"aud": "someone-else"}, "wrong_audience"),
        ({"iss": "https://evil.example"}, "wrong_issuer"),
        ({"iat": int(NOW) - 10, "exp": int(NOW) + 7200}, "lifetime_too_long"),
        ({"sub": None}, "missing_claim"),
        ({"exp": None}, "missing_claim"),
        ({"sub": ""}, "missing_claim"),
    ],
)
def test_bad_claims_are_anonymous_with_a_reason(
    token_claims: dict[str, object], expected: str
) -> None:
    assert reason(verifier().verify(Presented(token=hs256(**token_claims)))) == expected


def test_clock_skew_within_the_leeway_is_accepted() -> None:
    result = verifier().verify(Presented(token=hs256(exp=int(NOW) - 20)))
    assert isinstance(result, Identity)


def test_a_tampered_payload_fails_the_signature() -> None:
    head, _, sig = hs256().split(".")
    forged = dict(claims(), sub="u_2002")
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).decode().rstrip("=")
    assert reason(verifier().verify(Presented(token=f"{head}.{body}.{sig}"))) == "bad_signature"


def test_a_token_signed_with_another_secret_fails() -> None:
    token = jwt.encode(claims(), "x" * 40, algorithm="HS256")
    assert reason(verifier().verify(Presented(token=token))) == "bad_signature"


def test_alg_none_and_unconfigured_algorithms_are_refused() -> None:
    unsigned = jwt.encode(claims(), "", algorithm="none")
    assert reason(verifier().verify(Presented(token=unsigned))) == "algorithm_not_allowed"
    hs512 = jwt.encode(claims(), SECRET * 2, algorithm="HS512")
    assert reason(verifier().verify(Presented(token=hs512))) == "algorithm_not_allowed"


def test_garbage_and_oversized_tokens() -> None:
    assert reason(verifier().verify(Presented(token="not-a-jwt"))) == "malformed"
    assert reason(verifier().verify(Presented(token="a" * 9000))) == "oversized"


def test_rs256_and_the_hs256_public_key_confusion() -> None:
    private, public_pem = rsa_keys()
    v = verifier(algorithms=("RS256",), secret=None, public_key=SecretStr(public_pem))
    good = jwt.encode(claims(), private, algorithm="RS256")
    assert isinstance(v.verify(Presented(token=good)), Identity)
    # the classic attack: HS256 "signed" with the public key as the HMAC secret
    forged = _hs256_with_key(public_pem)
    assert reason(v.verify(Presented(token=forged))) == "algorithm_not_allowed"


def _hs256_with_key(key: str) -> str:
    """HMAC-sign by hand: PyJWT itself refuses a PEM as an HMAC secret."""
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims()).encode())
    sig = hmac.new(key.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def test_eddsa() -> None:
    private, public_pem = ed25519_keys()
    v = verifier(algorithms=("EdDSA",), secret=None, public_key=SecretStr(public_pem))
    token = jwt.encode(claims(), private, algorithm="EdDSA")
    result = v.verify(Presented(token=token))
    assert isinstance(result, Identity)
    assert result.user_id == "u_1001"
    other, _ = ed25519_keys()
    assert reason(v.verify(Presented(token=jwt.encode(claims(), other, algorithm="EdDSA")))) == (
        "bad_signature"
    )


def test_hmac_user_hash() -> None:
    v = verifier()
    good = v.verify(Presented(user_id="u_1001", user_hash=user_hash(HMAC_SECRET, "u_1001")))
    assert isinstance(good, Identity)
    assert (good.user_id, good.method, good.email) == ("u_1001", "hmac", None)
    wrong = user_hash(HMAC_SECRET, "u_1001")
    assert reason(v.verify(Presented(user_id="u_2002", user_hash=wrong))) == "bad_signature"
    assert reason(v.verify(Presented(user_id="u_1001", user_hash="zz"))) == "malformed"
    assert reason(v.verify(Presented(user_id="u_1001"))) == "missing"


def test_nothing_presented_is_anonymous_and_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="frontdesk.identity")
    assert reason(verifier().verify(Presented())) == "missing"
    assert not caplog.records


def test_a_rejection_is_logged_with_its_reason_but_never_the_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="frontdesk.identity")
    token = hs256(exp=int(NOW) - 3600, iat=int(NOW) - 3700)
    verifier().verify(Presented(token=token))
    (record,) = caplog.records
    assert record.__dict__["identity_reason"] == "expired"
    assert record.__dict__["identity_method"] == "jwt"
    logged = record.getMessage() + json.dumps({k: str(v) for k, v in record.__dict__.items()})
    assert token not in logged
    assert token.split(".")[2] not in logged


def test_a_tenant_without_identity_verifies_nobody() -> None:
    v = IdentityVerifier(None)
    assert not v.enabled
    assert reason(v.verify(Presented(token=hs256()))) == "not_configured"


def test_config_reads_secrets_from_the_environment_and_fails_closed() -> None:
    section = IdentitySection.model_validate(
        {
            "jwt": {"algorithms": ["HS256"], "secret_env": "NW_ID", "audience": "frontdesk"},
            "hmac": {"secret_env": "NW_HASH"},
        }
    )
    resolved = identity_config_for("default", section, {"NW_ID": SECRET, "NW_HASH": HMAC_SECRET})
    assert resolved is not None and resolved.jwt is not None and resolved.hmac is not None
    assert SECRET not in repr(resolved)
    # unset: nobody is verified (development), or start-up refuses (production)
    assert identity_config_for("default", section, {}) is None
    with pytest.raises(ConfigError, match="NW_ID"):
        identity_config_for("default", section, {}, required=True)
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        identity_config_for("default", section, {"NW_ID": "short"})
    # per tenant: the tenant's own bot config section
    acme = identity_config_for("acme", section, {"NW_ID": SECRET})
    assert acme is not None and acme.tenant == "acme" and acme.hmac is None


def test_config_needs_a_key_per_algorithm() -> None:
    with pytest.raises(ValueError, match="secret_env"):
        IdentitySection.model_validate({"jwt": {"algorithms": ["HS256"]}})
    with pytest.raises(ValueError, match="public_key_env"):
        IdentitySection.model_validate({"jwt": {"algorithms": ["RS256"], "secret_env": "X"}})
    with pytest.raises(ValueError, match="leeway"):
        IdentitySection.model_validate(
            {"jwt": {"algorithms": ["HS256"], "secret_env": "X", "leeway_seconds": 600}}
        )
