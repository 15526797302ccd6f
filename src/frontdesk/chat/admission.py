"""Admission of a turn: request rate limits, then cost budgets.

Limits are checked before anything is stored (over a limit: 429 with
Retry-After). Budgets reserve the worst-case cost of the call before it is
made and settle the actual cost after, atomically, so concurrent turns never
spend past a budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.providers.budget import BudgetLimit, Budgets, Ledger, Reservation, Subject
from frontdesk.providers.limits import AdmissionLimiter, Buckets, Rate, RequestLimits
from frontdesk.providers.pricing import PriceTable


@dataclass
class Admission:
    limiter: AdmissionLimiter
    budgets: Budgets
    prices: PriceTable

    @classmethod
    def for_bot(
        cls, bot: BotConfig, *, buckets: Buckets, ledger: Ledger, prices: PriceTable
    ) -> Admission:
        lim = bot.limits

        def rate(rpm: float | None) -> Rate | None:
            return Rate(rpm, 60.0) if rpm else None

        limiter = AdmissionLimiter(
            buckets,
            RequestLimits(
                tenant=rate(lim.tenant_rpm),
                user=rate(lim.user_rpm),
                conversation=rate(lim.conversation_rpm),
            ),
        )
        budgets = Budgets(
            ledger, [BudgetLimit(b.scope, b.window, b.amount_usd) for b in bot.budgets]
        )
        return cls(limiter, budgets, prices)

    async def admit(self, subject: Subject) -> None:
        await self.limiter.admit(subject.tenant, subject.user, subject.conversation)

    def worst_case(
        self, endpoints: Sequence[EndpointConfig], prompt_tokens: int, max_output_tokens: int
    ) -> Decimal:
        """The most any endpoint of the chain could charge for this call."""
        costs = [
            self.prices.worst_case(ep.model, prompt_tokens, max_output_tokens, dialect=ep.dialect)
            for ep in endpoints
        ]
        return max(costs, default=Decimal(0))

    async def reserve(self, subject: Subject, amount: Decimal) -> Reservation:
        return await self.budgets.reserve(subject, amount)

    async def settle(self, reservation: Reservation, actual: Decimal) -> None:
        await self.budgets.settle(reservation, actual)
