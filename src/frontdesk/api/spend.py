"""The anonymous daily budget around one turn: reserve the worst case, settle the usage.

The reservation is made before the message is stored or any model is called (over
the budget: 429 ``budget_exceeded`` with ``Retry-After`` at midnight UTC); when the
turn ends its real usage (tokens and cost of the ``done`` event) replaces it. A turn
that ends without a ``done`` (the client left mid-answer, an error) is settled at
the reserved worst case if any text was produced, else at zero.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

from frontdesk.admission.anonymous import AnonymousBudget, AnonymousReservation, Client
from frontdesk.domain import Usage
from frontdesk.events import TextDelta, TurnDone, TurnEvent
from frontdesk.services import Services

SYSTEM_AND_SOURCES_TOKENS = 2000
"""Allowance for the system prompt and retrieved passages in the worst-case estimate."""


@dataclass
class AnonymousSpend:
    budget: AnonymousBudget | None
    reservation: AnonymousReservation | None
    tokens: int
    usd: Decimal
    settled: bool = False

    async def settle(self, usage: Usage | None, cost_usd: float, *, produced: bool) -> None:
        if self.settled or self.budget is None or self.reservation is None:
            return
        self.settled = True
        if usage is not None:
            await self.budget.settle(self.reservation, usage.total_tokens, Decimal(str(cost_usd)))
        elif produced:
            await self.budget.settle(self.reservation, self.tokens, self.usd)
        else:
            await self.budget.settle(self.reservation, 0, Decimal(0))

    async def watch(self, events: AsyncIterator[TurnEvent]) -> AsyncGenerator[TurnEvent, None]:
        """Pass ``events`` through and settle when they end (however they end)."""
        done: TurnDone | None = None
        produced = False
        try:
            async for ev in events:
                if isinstance(ev, TurnDone):
                    done = ev
                elif isinstance(ev, TextDelta):
                    produced = True
                yield ev
        finally:
            await self.settle(
                done.usage if done else None, done.cost_usd if done else 0.0, produced=produced
            )


def worst_case_tokens(services: Services, content_chars: int) -> int:
    """The most one turn can use: memory window, prompt allowance, message, answer."""
    bot = services.bot
    estimate = (
        bot.memory.window_tokens
        + SYSTEM_AND_SOURCES_TOKENS
        + content_chars // 2
        + bot.model.max_output_tokens
    )
    return min(estimate, services.provider.capabilities.context_length)


async def reserve_anonymous(
    services: Services, client: Client, content_chars: int
) -> AnonymousSpend:
    admission = services.chat.admission
    if admission is None or admission.anonymous is None or not client.anonymous:
        return AnonymousSpend(None, None, 0, Decimal(0))
    tokens = worst_case_tokens(services, content_chars)
    output = services.bot.model.max_output_tokens
    usd = admission.prices.worst_case_for(services.chat.endpoints, max(0, tokens - output), output)
    reservation = await admission.anonymous.reserve(client, tokens, usd)
    return AnonymousSpend(admission.anonymous, reservation, tokens, usd)
