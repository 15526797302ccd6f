"""Actions inside a chat turn: the embedded model's routed action, looked up and answered, or
offered for confirmation when it changes something.

The answer is composed from the company API's result by the action's template (no model),
goes through the output guard (PII of anyone but the customer is masked) and is cited to the
action. A failure says so honestly and offers a person; nothing is invented.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from frontdesk.actions.config import ActionConfig
from frontdesk.actions.fill import fill_arguments
from frontdesk.actions.pending import OFFER_FIELD, Offer, new_offer_id
from frontdesk.actions.render import (
    OFFER_PERSON,
    confirm_text,
    failure_text,
    plain_summary,
    result_text,
)
from frontdesk.actions.results import ActionResult
from frontdesk.actions.runtime import ActionCall, ActionRuntime
from frontdesk.chat.guarding import OutputCheck, TurnGuard
from frontdesk.chat.inputs import policy_inputs
from frontdesk.domain import ChatMessage, Citation, ToolCall, ToolSpec
from frontdesk.events import ActionConfirm, TurnEvent
from frontdesk.identity.model import Identity
from frontdesk.memory.base import MemoryStore
from frontdesk.providers.base import ChatRequest

if TYPE_CHECKING:  # numpy (the router) and the guard stack load only when configured
    from frontdesk.actions.routing import ActionRouter, Routed
    from frontdesk.chat.deps import TurnDeps, TurnRequest
    from frontdesk.chat.record import TurnRun
    from frontdesk.guard.injection_sources import SourceScreen


@dataclass(frozen=True)
class ActionDeps:
    """What a turn needs to use actions."""

    runtime: ActionRuntime
    router: ActionRouter | None
    """Embedded routing (None: no embedder, so only vendor models call actions)."""
    confirm_ttl_seconds: int = 600
    clock: Callable[[], float] = time.time

    async def route(self, text: str) -> Routed | None:
        if self.router is None:
            return None
        return await asyncio.to_thread(self.router.route, text)


@dataclass
class ActionStep:
    """An action's part of a turn: the text shown and what the turn record keeps."""

    text: str
    finish: str
    audit: list[dict[str, Any]] = field(default_factory=list)
    citations: list[Citation] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    events: list[TurnEvent] = field(default_factory=list)
    """Sent after the text (the confirmation button)."""
    failed: bool = False


@dataclass(frozen=True)
class ActionContext:
    """The turn as the action sees it."""

    store: MemoryStore
    guard: TurnGuard | None
    conversation_id: str
    user_message_id: str
    assistant_message_id: str
    text: str
    identity: Identity | None
    user_values: frozenset[str] = frozenset()
    today: Callable[[], date] = date.today
    screen: SourceScreen | None = None
    """The guard's document injection screen: a result carrying instructions aimed at the
    model is withheld from a vendor model (None: results go as they are)."""


async def act(deps: ActionDeps, ctx: ActionContext, routed: Routed) -> ActionStep:
    """Answer the turn with ``routed.action`` (embedded model)."""
    action = routed.action
    filled = fill_arguments(action, ctx.text, ctx.identity, ctx.today())
    call = ActionCall(action.name, filled.arguments, ctx.identity, ctx.conversation_id)
    refused = deps.runtime.refusal(call)
    if refused is not None:
        return ActionStep(failure_text(action, refused), refused.status, [refused.audit()])
    if filled.missing:
        text = (
            f"To do that I need: {', '.join(filled.missing)}, which I couldn't find in your "
            f"message. {OFFER_PERSON}"
        )
        return ActionStep(text, "action_incomplete", failed=True)
    if action.effect == "change":
        return await offer(deps, ctx, action, filled.arguments)
    result = await deps.runtime.execute(call)
    return answer_from(action, result, ctx)


async def offer(
    deps: ActionDeps, ctx: ActionContext, action: ActionConfig, arguments: dict[str, Any]
) -> ActionStep:
    """Offer a change for confirmation: nothing runs until the customer presses the button."""
    assert ctx.identity is not None
    offer_id = new_offer_id()
    expires = deps.clock() + deps.confirm_ttl_seconds
    record = {
        "action": action.name,
        "arguments": arguments,
        "user_id": ctx.identity.user_id,
        "tenant": ctx.identity.tenant,
        "user_message_id": ctx.user_message_id,
        "asked_in": ctx.assistant_message_id,
        "created_at": deps.clock(),
        "expires_at": expires,
    }
    await ctx.store.update_conversation_metadata(ctx.conversation_id, Offer(offer_id, record))
    question = confirm_text(action, arguments)
    event = ActionConfirm(
        id=offer_id,
        action=action.name,
        title=action.title,
        question=question,
        expires_at=datetime.fromtimestamp(expires, UTC).isoformat(),
    )
    if ctx.assistant_message_id:  # the button comes back with the history after a reload
        await ctx.store.merge_message_metadata(
            ctx.assistant_message_id, {OFFER_FIELD: dataclasses.asdict(event)}
        )
    audit = {
        "action": action.name,
        "call_id": offer_id,
        "effect": "change",
        "arguments": arguments,
        "status": "awaiting_confirmation",
        "acting_for": ctx.identity.user_id,
    }
    return ActionStep(question, "action_confirm", [audit], events=[event])


def answer_from(action: ActionConfig, result: ActionResult, ctx: ActionContext) -> ActionStep:
    """The customer's answer from a finished call, guarded and cited to the action."""
    text = result_text(action, result)
    verdicts: list[dict[str, Any]] = []
    if ctx.guard is not None:
        text, verdicts = guarded(ctx, text)
    if not result.ok:
        return ActionStep(text, "action_failed", [result.audit()], verdicts=verdicts, failed=True)
    citation = Citation(
        index=1,
        chunk_id=f"action:{result.call_id}",
        document_id=f"action:{action.name}",
        title=action.title,
        section="from your account, just now",
        snippet=text[:300],
        url="",
    )
    return ActionStep(f"{text} [1]", "action", [result.audit()], [citation], verdicts)


def guarded(ctx: ActionContext, text: str) -> tuple[str, list[dict[str, Any]]]:
    """``text`` through the output guard: the customer's own values pass, anyone else's PII is
    masked. The text is composed from the API result, so it is its own source."""
    assert ctx.guard is not None
    own = set(ctx.user_values)
    if ctx.identity is not None:
        own |= {v for v in (ctx.identity.email, ctx.identity.name) if v}
    check = ctx.guard.output(
        canary=None, user_values=frozenset(own), sources=[text], question=ctx.text
    )
    check.feed(text)  # the events are not streamed: the turn sends the checked text whole
    check.finish(text)
    return check.content, list(check.verdicts)


TOOLS_INSTRUCTION = (
    "\n\nActions: the tools given to you look up or change the signed-in customer's own "
    "account at {company}. Use them only for that customer's account questions and requests, "
    "and state account facts only from their results. A tool that changes something waits "
    "for the customer to press a confirmation button: never say it is done before a result "
    "says so. When a tool fails, say so honestly and offer a person; never invent a result."
)


@dataclass
class ToolRound:
    """The results of one round of the model's tool calls."""

    messages: list[ChatMessage] = field(default_factory=list)
    """``role="tool"`` messages, one per call, in the calls' order."""
    events: list[TurnEvent] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    """The successful results as text: what the answer's grounding is checked against."""
    citations: list[Citation] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    """The injection screen's verdicts on results it withheld (for the turn record)."""


WITHHELD = (
    "The result of this action contained text that looks like instructions aimed at an "
    "assistant, so it was withheld. Do not guess the result: tell the customer you could not "
    "read it just now and offer to connect them with a person."
)


def tool_specs(deps: ActionDeps | None, identity: Identity | None) -> tuple[ToolSpec, ...]:
    """The tools a vendor model is given: only for a verified customer."""
    if deps is None or identity is None:
        return ()
    return deps.runtime.tool_specs()


async def tool_round(
    deps: ActionDeps, ctx: ActionContext, calls: Sequence[ToolCall], first_index: int
) -> ToolRound:
    """Run the model's tool calls: reads now, changes offered for confirmation."""
    out = ToolRound()
    for call in calls:
        arguments, problem = _arguments(call.arguments)
        action = deps.runtime.definition(call.name)
        result: dict[str, Any]
        if problem is not None or action is None:
            result = {
                "status": "invalid_arguments" if action else "unknown_action",
                "error": problem or f"no tool {call.name!r}",
            }
            out.audit.append(
                {
                    "action": call.name,
                    "call_id": call.id,
                    "status": result["status"],
                    "arguments": arguments,
                    "acting_for": _who(ctx),
                }
            )
        elif action.effect == "change":
            result = await _offer_or_refuse(deps, ctx, action, arguments, call, out)
        else:
            done = await deps.runtime.execute(
                ActionCall(action.name, arguments, ctx.identity, ctx.conversation_id, call.id)
            )
            audit = done.audit()
            out.audit.append(audit)
            result = done.for_model()
            withheld = await _screened(ctx, action.name, done, out) if done.ok else False
            if withheld:
                audit["injection"] = "withheld"
                result = {"status": "withheld", "instruction": WITHHELD}
            elif done.ok:
                out.sources.append(f"{action.title}: {plain_summary(done.data)}")
                out.citations.append(
                    Citation(
                        index=first_index + len(out.citations),
                        chunk_id=f"action:{done.call_id}",
                        document_id=f"action:{action.name}",
                        title=action.title,
                        section="from your account, just now",
                        snippet=plain_summary(done.data)[:300],
                        url="",
                    )
                )
        out.messages.append(
            ChatMessage("tool", json.dumps(result, ensure_ascii=False), tool_call_id=call.id)
        )
    return out


async def _offer_or_refuse(
    deps: ActionDeps,
    ctx: ActionContext,
    action: ActionConfig,
    arguments: dict[str, Any],
    call: ToolCall,
    out: ToolRound,
) -> dict[str, Any]:
    refused = deps.runtime.refusal(
        ActionCall(action.name, arguments, ctx.identity, ctx.conversation_id, call.id)
    )
    if refused is not None:
        out.audit.append(refused.audit())
        return refused.for_model()
    step = await offer(deps, ctx, action, arguments)
    out.audit += step.audit
    out.events += step.events
    return {
        "status": "awaiting_confirmation",
        "instruction": "Nothing has been done yet. Ask the customer to press the confirmation "
        f"button below your message: {step.text}",
    }


async def _screened(ctx: ActionContext, name: str, done: ActionResult, out: ToolRound) -> bool:
    """Whether the injection screen withholds a successful result from the model (as a
    retrieved passage with hidden instructions is kept out of the prompt); its verdict goes
    on the turn record."""
    if ctx.screen is None:
        return False
    text = "\n".join(_strings(done.data))
    if not text.strip():
        return False
    screened = await asyncio.to_thread(ctx.screen.screen, [text])
    if not screened.any:
        return False
    score = screened.scores[0]
    out.verdicts.append(
        {
            "stage": "action",
            "check": "injection_results",
            "action": "withhold",
            "reason": "hidden_instructions",
            "tool": name,
            "call_id": done.call_id,
            "score": None if score is None else round(score, 4),
            "rules": list(screened.rules[0]),
        }
    )
    return True


def _strings(value: Any) -> list[str]:
    """Every string in a result (keys too), depth first: what a model would read."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(value, list | tuple):
        return [s for v in value for s in _strings(v)]
    return []


def _arguments(text: str) -> tuple[dict[str, Any], str | None]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}, "the arguments are not JSON"
    if not isinstance(value, dict):
        return {}, "the arguments must be a JSON object"
    return value, None


def _who(ctx: ActionContext) -> str | None:
    return ctx.identity.user_id if ctx.identity else None


# --- the turn's side: what a routed action or the model's tool calls add to a turn -----------


def action_context(deps: TurnDeps, req: TurnRequest) -> ActionContext:
    """The turn as its actions see it."""
    checked = req.checked
    return ActionContext(
        store=deps.store,
        guard=deps.guard,
        conversation_id=req.conversation.id,
        user_message_id=req.user_message.id,
        assistant_message_id=req.assistant_message_id,
        text=req.user_message.content,
        identity=req.identity,
        user_values=checked.user_values if checked else frozenset(),
        today=deps.today,
        screen=deps.guard.pipeline.source_screen if deps.guard is not None else None,
    )


async def routed_step(deps: TurnDeps, req: TurnRequest, run: TurnRun, routed: Routed) -> ActionStep:
    """The embedded model's routed action, run (or offered) and recorded on ``run``."""
    assert deps.actions is not None
    step = await act(deps.actions, action_context(deps, req), routed)
    run.inputs = policy_inputs("action")
    run.policy, run.finish = "action", step.finish
    run.actions, run.citations = step.audit, step.citations
    run.verdicts += step.verdicts
    run.verdicts.append(
        {
            "stage": "answer",
            "check": "action_route",
            "action": routed.action.name,
            "score": round(routed.score, 4),
        }
    )
    return step


CheckFor = Callable[[Sequence[str]], OutputCheck]
"""The output check of an answer grounded on these action results (and the documents)."""
Stream = Callable[["TurnRun", ChatRequest, OutputCheck], AsyncIterator[TurnEvent]]
"""One provider call of the turn through its output check."""


async def tool_rounds(
    deps: TurnDeps,
    req: TurnRequest,
    run: TurnRun,
    request: ChatRequest,
    *,
    check_for: CheckFor,
    stream: Stream,
    first_index: int,
) -> AsyncIterator[TurnEvent | OutputCheck]:
    """Run the model's tool calls and call it again with the results, for at most
    ``actions.max_tool_steps`` rounds; the last item is the output check of the answer.
    ``first_index``: the citation number of the first action result (after the documents)."""
    assert deps.actions is not None
    context = action_context(deps, req)
    results: list[str] = []
    check = check_for(())
    steps = deps.actions.runtime.actions.config.max_tool_steps
    for step in range(steps):
        if not run.tool_calls or check.retracted:
            break
        calls, run.tool_calls = run.tool_calls, []
        found = await tool_round(deps.actions, context, calls, first_index + len(results))
        run.actions += found.audit
        run.action_citations += found.citations
        run.verdicts += found.verdicts
        results += found.sources
        for ev in found.events:
            yield ev
        request = replace(
            request,
            messages=[
                *request.messages,
                ChatMessage("assistant", "".join(run.raw), tool_calls=tuple(calls)),
                *found.messages,
            ],
            tool_choice="none" if step == steps - 1 else "auto",
            idempotency_key=f"{req.assistant_message_id}:tools:{step + 1}",
        )
        await run.next_call()
        run.raw.clear()
        check = check_for(results)
        async for ev in stream(run, request, check):
            yield ev
    yield check
