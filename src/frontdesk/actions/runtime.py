"""The action runtime: runs one action call for one verified customer, safely.

Order of checks: the action exists → the customer is verified and carries the claims it
needs → the arguments validate against its JSON schema → the conversation's action budget →
the endpoint's circuit breaker → the HTTP call (the acting-for token in a header, a timeout,
retries for reads only, an idempotency key for changes). Every outcome is an
:class:`~frontdesk.actions.results.ActionResult`; nothing here raises for a failed call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from frontdesk.actions.config import ActionConfig, template_fields
from frontdesk.actions.results import ActionResult, Status
from frontdesk.admission.buckets import Buckets, MemoryBuckets, Rate, Take
from frontdesk.domain import ToolSpec
from frontdesk.errors import ProviderUnavailable
from frontdesk.identity.model import Identity
from frontdesk.providers.breaker import BreakerBoard, CircuitBreaker, CircuitOpen

if TYPE_CHECKING:
    from frontdesk.actions.setup import ResolvedActions  # PyJWT: only with actions configured

log = logging.getLogger(__name__)
BUDGET_PERIOD_SECONDS = 30 * 86400.0
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class _CallFailed(ProviderUnavailable):
    """An endpoint failure as the circuit breaker counts it."""

    code = "action_failed"


@dataclass(frozen=True, slots=True)
class ActionCall:
    action: str
    arguments: Mapping[str, Any]
    identity: Identity | None
    conversation_id: str
    call_id: str = ""


class ActionRuntime:
    def __init__(
        self,
        actions: ResolvedActions,
        *,
        client: httpx.AsyncClient | None = None,
        buckets: Buckets | None = None,
        breakers: BreakerBoard | None = None,
    ) -> None:
        self.actions = actions
        cfg = actions.config
        self._client = client or httpx.AsyncClient(follow_redirects=False)
        self._own_client = client is None
        self._buckets = buckets or MemoryBuckets()
        self._breakers = breakers or BreakerBoard(
            lambda name: CircuitBreaker(
                name,
                failure_threshold=cfg.breaker_failures,
                cooldown=cfg.breaker_cooldown_seconds,
            )
        )
        from jsonschema import Draft202012Validator  # only bots with actions need it

        self._validators = {
            name: Draft202012Validator(a.parameters) for name, a in actions.definitions.items()
        }

    @property
    def breakers(self) -> BreakerBoard:
        return self._breakers

    def definition(self, name: str) -> ActionConfig | None:
        return self.actions.get(name)

    def tool_specs(self) -> tuple[ToolSpec, ...]:
        return tuple(
            ToolSpec(a.name, _tool_description(a), a.parameters)
            for a in self.actions.definitions.values()
        )

    def problems(self, action: ActionConfig, arguments: Mapping[str, Any]) -> list[str]:
        validator = self._validators[action.name]
        return sorted(
            f"{'/'.join(str(p) for p in e.absolute_path) or '(arguments)'}: {e.message}"
            for e in validator.iter_errors(dict(arguments))
        )[:8]

    def refusal(self, call: ActionCall) -> ActionResult | None:
        """Why ``call`` may not run at all (no budget spent), else None."""
        action = self.definition(call.action)
        call_id = call.call_id or str(uuid.uuid4())
        args = dict(call.arguments)
        if action is None:
            return ActionResult(
                call.action, "unknown_action", args, call_id, error="no such action"
            )

        def refuse(status: Status, error: str, problems: tuple[str, ...] = ()) -> ActionResult:
            return ActionResult(
                action.name,
                status,
                args,
                call_id,
                effect=action.effect,
                acting_for=call.identity.user_id if call.identity else None,
                error=error,
                problems=problems,
            )

        if call.identity is None:
            return refuse("needs_identity", "the customer is not signed in (no verified identity)")
        if self.actions.acting_for is None:
            return refuse("failed", "the action secret is not configured")
        missing = [c for c in action.requires_claims if c not in call.identity.claims]
        if missing:
            return refuse("missing_claims", "missing verified claims: " + ", ".join(missing))
        problems = self.problems(action, args)
        if problems:
            return refuse("invalid_arguments", "the arguments do not fit", tuple(problems))
        return None

    async def execute(self, call: ActionCall) -> ActionResult:
        refused = self.refusal(call)
        if refused is not None:
            self._log(refused)
            return refused
        action = self.definition(call.action)
        assert action is not None and call.identity is not None
        call_id = call.call_id or str(uuid.uuid4())
        budget = Take(
            f"actions:{call.identity.tenant}:{call.conversation_id}",
            Rate(self.actions.config.budget_per_conversation, BUDGET_PERIOD_SECONDS),
        )
        if await self._buckets.take([budget]) > 0:
            result = ActionResult(
                action.name,
                "over_budget",
                dict(call.arguments),
                call_id,
                effect=action.effect,
                acting_for=call.identity.user_id,
                error="this conversation used its action budget",
            )
        else:
            result = await self._run(action, call, call_id)
        self._log(result)
        return result

    async def _run(self, action: ActionConfig, call: ActionCall, call_id: str) -> ActionResult:
        assert call.identity is not None
        breaker = self._breakers.get(f"{action.endpoint.method} {action.endpoint.url}")
        started = time.perf_counter()
        attempts, status_code, error = 0, None, None
        tries = 1 + (self.actions.config.max_retries if action.effect == "read" else 0)
        outcome: Status = "failed"
        data: Any = None
        for attempt in range(tries):
            try:
                probe = breaker.acquire()
            except CircuitOpen:
                outcome, error = "circuit_open", "the company API is failing; not called"
                break
            attempts += 1
            outcome, status_code, data, error = await self._attempt(action, call, call_id)
            retryable = outcome == "timeout" or (
                outcome == "failed" and (status_code is None or status_code in RETRY_STATUSES)
            )
            if outcome == "ok" or (status_code is not None and status_code < 500):
                breaker.record_success(probe)  # the API answered: it is up
            else:
                breaker.record_failure(_CallFailed(error or "", status=status_code or 503), probe)
            if outcome == "ok" or not retryable:
                break
            if attempt + 1 < tries:
                await asyncio.sleep(min(0.1 * 2**attempt, 1.0))
        return ActionResult(
            action.name,
            outcome,
            dict(call.arguments),
            call_id,
            effect=action.effect,
            data=data if outcome == "ok" else None,
            http_status=status_code,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=attempts,
            acting_for=call.identity.user_id,
            error=error,
        )

    async def _attempt(
        self, action: ActionConfig, call: ActionCall, call_id: str
    ) -> tuple[Status, int | None, Any, str | None]:
        request = self._request(action, call, call_id)
        limit = self.actions.config.max_response_bytes
        try:
            async with self._client.stream(
                request.method,
                request.url,
                params=request.params,
                json=request.body,
                headers=request.headers,
                timeout=action.endpoint.timeout_seconds,
            ) as response:
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > limit:
                        return "failed", response.status_code, None, "response too large"
        except httpx.TimeoutException:
            return "timeout", None, None, f"no answer within {action.endpoint.timeout_seconds} s"
        except httpx.HTTPError as exc:
            return "failed", None, None, f"{type(exc).__name__}: cannot reach the API"
        code = response.status_code
        if not 200 <= code < 300:
            return "failed", code, None, f"HTTP {code}"
        if not body:
            return "ok", code, {}, None
        try:
            return "ok", code, json.loads(body), None
        except ValueError:
            return "failed", code, None, "the API did not answer JSON"

    def _request(self, action: ActionConfig, call: ActionCall, call_id: str) -> _Request:
        assert call.identity is not None and self.actions.acting_for is not None
        args = dict(call.arguments)
        in_url = set(template_fields(action.endpoint.url)) - {"base_url"}
        values = {k: quote(str(args[k]), safe="") for k in in_url if k in args}
        url = action.endpoint.url.format(base_url=self.actions.base_url or "", **values)
        rest = {k: v for k, v in args.items() if k not in in_url}
        headers = {"Accept": "application/json", **action.endpoint.headers}
        headers.update(
            {
                k: v.get_secret_value()
                for k, v in self.actions.header_values.get(action.name, {}).items()
            }
        )
        headers[self.actions.config.acting_for_header] = self.actions.acting_for.mint(
            call.identity, action.name, call_id
        )
        has_body = action.endpoint.method in ("POST", "PUT", "PATCH")
        if action.effect == "change":
            headers["Idempotency-Key"] = call_id
        return _Request(
            method=action.endpoint.method,
            url=url,
            params=None if has_body else {k: _query(v) for k, v in rest.items()},
            body=rest if has_body else None,
            headers=headers,
        )

    def _log(self, result: ActionResult) -> None:
        log.info(
            "action %s: %s",
            result.action,
            result.status,
            extra={
                "action": result.action,
                "action_status": result.status,
                "http_status": result.http_status,
                "latency_ms": round(result.latency_ms, 1),
                "acting_for": result.acting_for,
            },
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    url: str
    params: dict[str, str] | None
    body: dict[str, Any] | None
    headers: dict[str, str]


def _query(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def _tool_description(action: ActionConfig) -> str:
    text = action.description
    if action.effect == "change":
        text += " (Changes something: the customer confirms with a button before it runs.)"
    if action.examples:
        text += " Examples: " + "; ".join(action.examples[:4])
    return text
