from __future__ import annotations

import asyncio
import json

from frontdesk.actions.runtime import ActionCall, ActionRuntime
from tests.actions.northwind import ACTION_SECRET, DANA, SAM, Northwind


def call(action: str, identity: object = DANA, **arguments: object) -> ActionCall:
    return ActionCall(action, arguments, identity, "conv-1")  # type: ignore[arg-type]


async def test_a_read_returns_the_verified_customers_own_data(api: Northwind) -> None:
    runtime = ActionRuntime(api.actions())
    try:
        dana = await runtime.execute(call("lookup_plan"))
        sam = await runtime.execute(call("lookup_plan", SAM))
    finally:
        await runtime.aclose()
    assert dana.ok and dana.data["plan"] == "Growth" and dana.data["since"] == "2026-03-03"
    assert sam.ok and sam.data["plan"] == "Starter"
    assert [c["user"] for c in api.state.calls] == ["u_1001", "u_2002"]
    audit = dana.audit()
    assert audit["acting_for"] == "u_1001"
    assert audit["status"] == "ok" and audit["http_status"] == 200 and audit["attempts"] == 1
    assert ACTION_SECRET not in json.dumps(audit)


async def test_without_identity_or_claims_or_valid_arguments_nothing_is_called(
    api: Northwind,
) -> None:
    runtime = ActionRuntime(api.actions())
    try:
        anonymous = await runtime.execute(call("lookup_plan", None))
        bad_month = await runtime.execute(call("lookup_usage", month="October"))
        extra = await runtime.execute(call("lookup_plan", user_id="u_2002"))
        unknown = await runtime.execute(call("drop_database"))
    finally:
        await runtime.aclose()
    assert anonymous.status == "needs_identity"
    assert bad_month.status == "invalid_arguments" and "month" in bad_month.problems[0]
    # the model cannot choose whose record: a user id argument is not in the schema
    assert extra.status == "invalid_arguments"
    assert unknown.status == "unknown_action"
    assert api.state.calls == []


async def test_required_claims(api: Northwind) -> None:
    actions = api.actions()
    plan = actions.definitions["lookup_plan"].model_copy(update={"requires_claims": ["admin"]})
    actions = type(actions)(
        actions.config,
        {**actions.definitions, "lookup_plan": plan},
        actions.base_url,
        actions.acting_for,
        actions.header_values,
    )
    runtime = ActionRuntime(actions)
    try:
        result = await runtime.execute(call("lookup_plan"))
    finally:
        await runtime.aclose()
    assert result.status == "missing_claims" and api.state.calls == []


async def test_reads_are_retried_changes_never(api: Northwind) -> None:
    runtime = ActionRuntime(api.actions())
    try:
        api.state.failures[:] = [503]
        read = await runtime.execute(call("lookup_usage", month="2026-11"))
        api.state.failures[:] = [503]
        change = await runtime.execute(call("resend_invoice"))
    finally:
        await runtime.aclose()
    assert read.ok and read.attempts == 2
    assert change.status == "failed" and change.attempts == 1 and change.http_status == 503
    assert api.state.resent == []


async def test_a_change_runs_once_per_call_id(api: Northwind) -> None:
    runtime = ActionRuntime(api.actions())
    try:
        first = await runtime.execute(
            ActionCall("resend_invoice", {}, DANA, "conv-1", call_id="confirm-1")
        )
        again = await runtime.execute(
            ActionCall("resend_invoice", {}, DANA, "conv-1", call_id="confirm-1")
        )
    finally:
        await runtime.aclose()
    assert first.ok and again.ok and first.data == again.data
    assert first.data["sent_to"] == "dana@acme.example"
    assert len(api.state.resent) == 1


async def test_the_breaker_opens_after_repeated_failures(api: Northwind) -> None:
    runtime = ActionRuntime(api.actions(max_retries=0, breaker_failures=2))
    try:
        api.state.failures[:] = [500, 500, 500]
        results = [await runtime.execute(call("lookup_plan")) for _ in range(3)]
    finally:
        await runtime.aclose()
    assert [r.status for r in results] == ["failed", "failed", "circuit_open"]
    assert len(api.state.calls) == 2  # the third was not sent


async def test_the_conversation_budget(api: Northwind) -> None:
    runtime = ActionRuntime(api.actions(budget_per_conversation=2))
    try:
        results = [await runtime.execute(call("lookup_plan")) for _ in range(3)]
        other = await runtime.execute(ActionCall("lookup_plan", {}, DANA, "conv-2"))
    finally:
        await runtime.aclose()
    assert [r.status for r in results] == ["ok", "ok", "over_budget"]
    assert other.ok
    assert len(api.state.calls) == 3


async def test_a_timeout_is_a_failure_not_a_hang(api: Northwind) -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts, never answers
    port = listener.getsockname()[1]
    actions = api.actions(max_retries=1)
    slow = actions.definitions["lookup_plan"].model_copy(
        update={
            "endpoint": actions.definitions["lookup_plan"].endpoint.model_copy(
                update={"url": f"http://127.0.0.1:{port}/v1/me/plan", "timeout_seconds": 0.3}
            )
        }
    )
    runtime = ActionRuntime(
        type(actions)(
            actions.config,
            {"lookup_plan": slow},
            actions.base_url,
            actions.acting_for,
            actions.header_values,
        )
    )
    try:
        result = await asyncio.wait_for(runtime.execute(call("lookup_plan")), timeout=5)
    finally:
        await runtime.aclose()
        listener.close()
    assert result.status == "timeout" and result.attempts == 2
    assert "result" not in result.for_model() and "person" in result.for_model()["instruction"]


def test_tool_specs_describe_changes() -> None:
    from tests.actions.northwind import sample_bot

    config = sample_bot().actions
    from frontdesk.actions.setup import resolve_actions

    resolved = resolve_actions(config, {"NORTHWIND_ACTION_SECRET": ACTION_SECRET})
    assert resolved is not None
    runtime = ActionRuntime(resolved)
    specs = {s.name: s for s in runtime.tool_specs()}
    assert set(specs) == {"lookup_plan", "lookup_usage", "resend_invoice", "open_ticket"}
    assert "confirms with a button" in specs["resend_invoice"].description
    assert specs["lookup_usage"].parameters["required"] == ["month"]
    asyncio.run(runtime.aclose())
