from __future__ import annotations

import time

import httpx
import jwt
import pytest
from pydantic import SecretStr

from frontdesk.actions.acting_for import ActingFor, verify_acting_for
from frontdesk.actions.openapi import actions_from_openapi
from frontdesk.actions.runtime import ActionCall, ActionRuntime
from frontdesk.actions.setup import resolve_actions
from frontdesk.errors import ConfigError
from tests.actions.northwind import ACTION_SECRET, DANA, Northwind


def test_the_acting_for_token_is_short_lived_and_scoped() -> None:
    now = time.time()
    minted = ActingFor(SecretStr(ACTION_SECRET), audience="northwind-api", clock=lambda: now)
    token = minted.mint(DANA, "lookup_plan", "call-1")
    claims = verify_acting_for(token, ACTION_SECRET, audience="northwind-api", action="lookup_plan")
    assert (claims["sub"], claims["act"], claims["jti"]) == ("u_1001", "lookup_plan", "call-1")
    assert claims["exp"] - claims["iat"] == 60
    with pytest.raises(jwt.InvalidTokenError, match="scoped"):
        verify_acting_for(token, ACTION_SECRET, audience="northwind-api", action="resend_invoice")
    with pytest.raises(jwt.InvalidAudienceError):
        verify_acting_for(token, ACTION_SECRET, audience="other-api")
    old = ActingFor(SecretStr(ACTION_SECRET), clock=lambda: now - 3600).mint(DANA, "x", "c")
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_acting_for(old, ACTION_SECRET)


async def test_the_company_api_refuses_a_token_signed_with_another_secret(
    api: Northwind,
) -> None:
    actions = api.actions()
    forged = resolve_actions(
        actions.config,
        {"NORTHWIND_API_URL": api.url, "NORTHWIND_ACTION_SECRET": "z" * 40},
    )
    assert forged is not None
    runtime = ActionRuntime(forged)
    try:
        result = await runtime.execute(ActionCall("lookup_plan", {}, DANA, "c"))
    finally:
        await runtime.aclose()
    assert result.status == "failed" and result.http_status == 401 and result.attempts == 1
    assert api.state.calls == []


async def test_actions_import_from_the_company_openapi_document(api: Northwind) -> None:
    async with httpx.AsyncClient() as client:
        doc = (await client.get(f"{api.url}/openapi.json")).json()
    actions = {a.name: a for a in actions_from_openapi(doc)}
    assert set(actions) == {"lookup_plan", "lookup_usage", "resend_last_invoice", "open_ticket"}
    assert actions["lookup_plan"].effect == "read"
    assert actions["resend_last_invoice"].effect == "change"
    usage = actions["lookup_usage"]
    assert usage.endpoint.url == "{base_url}/v1/me/usage"
    assert usage.parameters["required"] == ["month"]
    # the acting-for header is the runtime's, never a parameter the model fills
    assert "X-Frontdesk-Acting-For" not in usage.parameters["properties"]
    ticket = actions["open_ticket"].parameters
    assert set(ticket["properties"]) == {"subject", "description", "run_id"}
    assert ticket["required"] == ["description", "subject"]
    # and the imported action runs against the same API
    resolved = resolve_actions(
        api.actions().config.model_copy(update={"definitions": list(actions.values())}),
        {"NORTHWIND_API_URL": api.url, "NORTHWIND_ACTION_SECRET": ACTION_SECRET},
    )
    assert resolved is not None
    runtime = ActionRuntime(resolved)
    try:
        result = await runtime.execute(ActionCall("lookup_usage", {"month": "2026-11"}, DANA, "c"))
    finally:
        await runtime.aclose()
    assert result.ok and result.data["month"] == "2026-11"
    only = actions_from_openapi(doc, ["lookup_plan"])
    assert [a.name for a in only] == ["lookup_plan"]
    with pytest.raises(ConfigError, match="no operations"):
        actions_from_openapi(doc, ["nope"])
