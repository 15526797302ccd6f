"""Admission of a turn: request rate limits, then cost budgets.

Limits are checked before anything is stored (over a limit: 429 with
Retry-After). Budgets reserve the worst-case cost of the call before it is
made and settle the actual cost after, atomically, so concurrent turns never
spend past a budget (the reservation and settling of a provider call go through
:class:`~frontdesk.providers.metered.Metered`, which uses this as its budget gate).

Anonymous traffic (no API key) has its own limits and daily budget
(:mod:`frontdesk.admission.anonymous`); live event streams are capped per address and
per conversation (:mod:`frontdesk.admission.streams`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from frontdesk.admission.anonymous import Action, AnonymousBudget, Client, ClientLimits
from frontdesk.admission.buckets import Buckets, Rate
from frontdesk.admission.budgets import BudgetLimit, Budgets, Ledger, Reservation, Subject
from frontdesk.admission.requests import AdmissionLimiter, RequestLimits
from frontdesk.admission.streams import StreamSlots
from frontdesk.config import BotConfig
from frontdesk.escalation.priority import Requester
from frontdesk.providers.pricing import PriceTable
from frontdesk.settings import AbuseSettings


@dataclass
class Admission:
    limiter: AdmissionLimiter
    budgets: Budgets
    prices: PriceTable
    clients: ClientLimits | None = None
    anonymous: AnonymousBudget | None = None
    streams: StreamSlots = field(default_factory=lambda: StreamSlots(0, 0))

    @classmethod
    def for_bot(
        cls,
        bot: BotConfig,
        *,
        buckets: Buckets,
        ledger: Ledger,
        prices: PriceTable,
        abuse: AbuseSettings | None = None,
    ) -> Admission:
        abuse = abuse or AbuseSettings()
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
        return cls(
            limiter,
            budgets,
            prices,
            clients=ClientLimits(buckets, abuse),
            anonymous=AnonymousBudget(ledger, abuse),
            streams=StreamSlots(
                abuse.live_streams_per_address, abuse.live_streams_per_conversation
            ),
        )

    async def admit(self, subject: Subject) -> None:
        await self.limiter.admit(subject.tenant, subject.user, subject.conversation)

    async def admit_client(self, action: Action, client: Client) -> None:
        if self.clients is not None:
            await self.clients.admit(action, client)

    async def admit_escalation(self, tenant: str, requester: Requester) -> None:
        """The escalation gate: per address and per session of who opened the conversation."""
        client = Client(
            tenant, requester.address or "unknown", requester.session, requester.identity
        )
        await self.admit_client("escalation", client)

    def applies(self, subject: Subject) -> bool:
        return self.budgets.applies(subject)

    async def reserve(self, subject: Subject, amount: Decimal) -> Reservation:
        return await self.budgets.reserve(subject, amount)

    async def settle(self, reservation: Reservation, actual: Decimal) -> None:
        await self.budgets.settle(reservation, actual)
