"""Re-run a recorded turn from its record and compare the answers.

A generative turn sends its recorded prompt messages with its recorded temperature and
output limit to the endpoint that served it (or ``endpoint``), through the bot's output
guard with the recorded canary and sources, and resolves citations against the recorded
sources. An extractive turn composes again from its recorded question and passages. A
no-answer turn gives the current config's message. Turns answered from text that is not
stored (the input guard's refusal, a fact recalled from a ``/v1`` history) cannot be
replayed. The replay is not stored, not metered against budgets and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from frontdesk.chat.answering import Composer, extractive_reply
from frontdesk.chat.citations import resolve_citations
from frontdesk.chat.guarding import OutputCheck, TurnGuard
from frontdesk.chat.inputs import citations_of, messages_of, sources_of
from frontdesk.config import BotConfig
from frontdesk.domain import Citation, TurnRecord, Usage
from frontdesk.errors import Conflict, NotFound, ProviderError
from frontdesk.events import CallReport, Finish, TextDelta, UsageReport
from frontdesk.memory.base import MemoryStore
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.pricing import PriceTable
from frontdesk.replay.diff import Answer, Comparison

EndpointBuilder = Callable[[str], Awaitable[ChatProvider]]
"""Builds one endpoint of the bot by name (the caller closes it)."""
REPLAYED_STAGES = ("output", "answer")
"""The verdicts a replay produces again (the input guard and retrieval are not re-run)."""


@dataclass(frozen=True, slots=True)
class Replay:
    turn: TurnRecord
    kind: str
    endpoint: str
    """What answered the replay: an endpoint name, or ``policy``."""
    comparison: Comparison
    current_config_version: str
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def same(self) -> bool:
        return self.comparison.same_text and not self.comparison.changed

    def as_json(self) -> dict[str, Any]:
        comparison = self.comparison
        return {
            "turn_id": self.turn.id,
            "conversation_id": self.turn.conversation_id,
            "kind": self.kind,
            "endpoint": self.endpoint,
            "config_version": {
                "recorded": self.turn.config_version,
                "current": self.current_config_version,
            },
            "same": self.same,
            "diff": comparison.text_diff(),
            "changed": comparison.changed,
            "stored": _answer_json(comparison.stored),
            "replayed": _answer_json(comparison.replayed),
            "notes": list(self.notes),
            "error": self.error,
        }


def _answer_json(answer: Answer) -> dict[str, Any]:
    out = asdict(answer)
    out["cost"] = str(answer.cost)
    return out


@dataclass
class Replayer:
    store: MemoryStore
    bot: BotConfig
    chain: ChatProvider
    """The bot's chain as the server runs it (its endpoints are found in it by name)."""
    endpoint: EndpointBuilder | None = None
    guard: TurnGuard | None = None
    composer: Composer | None = None
    prices: PriceTable | None = None

    async def replay(
        self, turn_id: str, *, endpoint: str | None = None, tenant_id: str | None = None
    ) -> Replay:
        """Replay turn ``turn_id``; with ``tenant_id``, another tenant's turn is NotFound."""
        turn = await self.store.get_turn(turn_id)
        if turn is not None and tenant_id is not None:
            conversation = await self.store.get_conversation(turn.conversation_id)
            if conversation is None or conversation.tenant_id != tenant_id:
                turn = None
        if turn is None:
            raise NotFound(f"turn {turn_id} not found")
        kind = str(turn.inputs.get("kind", ""))
        if not kind:
            raise Conflict(
                f"turn {turn_id} was recorded without its inputs (before replay existed), "
                "so it cannot be replayed"
            )
        stored = await self._stored(turn)
        notes = self._notes(turn)
        if kind == "generative":
            return await self._generative(turn, stored, endpoint, notes)
        if kind == "extractive":
            replayed = await self._extractive(turn)
        elif kind == "no_answer":
            text = self.bot.knowledge.no_answer_message
            replayed = Answer(text, "policy", "no_answer", finish_reason="no_answer")
        else:
            raise Conflict(
                f"turn {turn_id} was answered by the {kind} policy from text that is not "
                "stored, so it cannot be replayed"
            )
        if endpoint is not None:
            notes.append(f"an {kind} answer calls no model: --endpoint {endpoint} was not used")
        return Replay(turn, kind, "policy", Comparison(stored, replayed), self.bot.version, notes)

    async def _stored(self, turn: TurnRecord) -> Answer:
        message = None
        if turn.assistant_message_id is not None:
            message = await self.store.get_message(turn.assistant_message_id)
        content = message.content if message is not None else ""
        cited = message.metadata.get("citations", []) if message is not None else []
        return Answer(
            content=content,
            provider=turn.provider,
            model=turn.model,
            citations=[Citation(**c) for c in cited],
            verdicts=[v for v in turn.verdicts if v.get("stage") in REPLAYED_STAGES],
            usage=turn.usage,
            cost=turn.cost,
            status=turn.status,
            finish_reason=str(turn.params.get("finish_reason", "")),
        )

    def _notes(self, turn: TurnRecord) -> list[str]:
        notes = []
        if turn.config_version != self.bot.version:
            notes.append(
                f"recorded with bot config version {turn.config_version}; the current "
                f"config is version {self.bot.version} (guard and composer settings are "
                "the current ones)"
            )
        images = sum(int(m.get("images", 0)) for m in turn.inputs.get("messages", ()))
        if images:
            notes.append(
                f"{images} image(s) were sent with the prompt; the replay sends only the "
                "text read from them (images are not kept with the turn)"
            )
        return notes

    # --- kinds -----------------------------------------------------------------------------

    async def _generative(
        self, turn: TurnRecord, stored: Answer, endpoint: str | None, notes: list[str]
    ) -> Replay:
        provider, owned = await self._provider(turn, endpoint)
        try:
            replayed, error = await self._call(turn, provider)
        finally:
            if owned:
                await provider.aclose()
        comparison = Comparison(stored, replayed)
        return Replay(turn, "generative", provider.name, comparison, self.bot.version, notes, error)

    async def _provider(self, turn: TurnRecord, endpoint: str | None) -> tuple[ChatProvider, bool]:
        """``endpoint`` built afresh (owned), else the chain's member that served the turn."""
        if endpoint is not None:
            if self.endpoint is None:
                raise Conflict("this replay cannot build other endpoints")
            return await self.endpoint(endpoint), True
        chain = self.chain
        members = chain.providers if isinstance(chain, Fallback) else [chain]
        served = next((p for p in members if p.name == turn.provider), None)
        return (served or chain), False

    def _output_check(self, turn: TurnRecord) -> OutputCheck:
        if self.guard is None:
            return OutputCheck(None)
        inputs = turn.inputs
        return self.guard.output(
            canary=inputs.get("canary"),
            user_values=frozenset(),  # the raw values were never stored
            sources=[s.text for s in sources_of(inputs)],
            question=str(inputs.get("question", "")),
        )

    async def _call(self, turn: TurnRecord, provider: ChatProvider) -> tuple[Answer, str | None]:
        params = turn.params
        request = ChatRequest(
            messages=messages_of(turn.inputs),
            temperature=float(params.get("temperature", self.bot.model.temperature)),
            max_output_tokens=int(
                params.get("max_output_tokens", self.bot.model.max_output_tokens)
            ),
        )
        check = self._output_check(turn)
        raw: list[str] = []
        usage, served, model, finish = Usage(), provider.name, provider.model, "stop"
        error: str | None = None
        stream = provider.stream(request)
        try:
            async for ev in stream:
                if isinstance(ev, TextDelta) and ev.text:
                    raw.append(ev.text)
                    check.feed(ev.text)
                    if check.retracted:
                        finish = "retracted"
                        break
                elif isinstance(ev, UsageReport):
                    usage = ev.usage
                elif isinstance(ev, CallReport):
                    usage, served, model = ev.usage, ev.provider or served, ev.model or model
                elif isinstance(ev, Finish):
                    finish = ev.reason
        except ProviderError as exc:
            error = f"{exc.code}: {exc}"
        finally:
            await stream.aclose()
        if error is None and not check.retracted:
            await asyncio.to_thread(check.finish, "".join(raw))
        content = check.content
        citations: list[Citation] = []
        numbered = citations_of(turn.inputs)
        if numbered:
            cited = resolve_citations(content, numbered)
            content, citations = cited.text, cited.citations
        status = "complete" if error is None else ("partial" if content else "failed")
        cost = self.prices.cost_of(model, usage) if self.prices is not None else Decimal(0)
        answer = Answer(
            content, served, model, citations, list(check.verdicts), usage, cost, status, finish
        )
        return answer, error

    async def _extractive(self, turn: TurnRecord) -> Answer:
        if self.composer is None:
            raise Conflict("this bot has no extractive composer (knowledge is off)")
        inputs = turn.inputs
        question = str(inputs.get("question", ""))
        sources = sources_of(inputs)
        composition = await asyncio.to_thread(
            self.composer.compose, question, sources, history_hint=inputs.get("history_hint")
        )
        reply = extractive_reply(
            question, sources, composition, known_names=(self.bot.name, self.bot.company)
        )
        cited = resolve_citations(reply.text, citations_of(inputs))
        verdict = {
            "stage": "answer",
            "check": "extractive",
            "action": "allow",
            "reason": "answered" if reply.answered else "not_documented",
            "missing": list(reply.missing),
        }
        return Answer(
            cited.text,
            "policy",
            "extractive",
            cited.citations,
            [verdict],
            finish_reason="stop" if reply.answered else "not_documented",
        )
