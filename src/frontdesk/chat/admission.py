"""Admission of a turn: request rate limits, then cost budgets.

Limits are checked before anything is stored (over a limit: 429 with
Retry-After). Budgets reserve the worst-case cost of the call before it is
made and settle the actual cost after, atomically, so concurrent turns never
spend past a budget.

Anonymous traffic (no API key) is also limited per client address and per
browser session (:class:`ClientLimits`: new conversations, messages,
escalations) and has a daily token and cost budget per session and per address
(:class:`AnonymousBudget`, on the same ledger as the other budgets, in-process
or Redis). Callers with an API key are accounted to the key's identity instead.
Live event streams are capped per address and per conversation
(:class:`StreamSlots`, per worker).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar, Literal

from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.errors import BudgetExceeded, RateLimited
from frontdesk.escalation.priority import Requester
from frontdesk.providers.budget import (
    BudgetLimit,
    Budgets,
    Ledger,
    Reservation,
    Subject,
    to_units,
)
from frontdesk.providers.limits import AdmissionLimiter, Buckets, Rate, RequestLimits, Take
from frontdesk.providers.pricing import PriceTable
from frontdesk.settings import AbuseSettings

Action = Literal["conversation", "message", "escalation"]
Kind = Literal["tokens", "usd"]


@dataclass(frozen=True, slots=True)
class Client:
    """Who sends one request, as the server established it (never a client-chosen field)."""

    tenant: str
    address: str
    """A key of the client address (socket peer or trusted proxy header), not the raw IP."""
    session: str | None = None
    """The id inside a valid, server-signed browser session token."""
    identity: str | None = None
    """The API key id when the request carried a valid key."""

    @property
    def anonymous(self) -> bool:
        return self.identity is None


class ClientLimits:
    """Token buckets per client address and per browser session, for anonymous callers."""

    PERIODS: ClassVar[dict[Action, float]] = {
        "conversation": 3600.0,
        "message": 60.0,
        "escalation": 3600.0,
    }

    def __init__(self, buckets: Buckets, abuse: AbuseSettings) -> None:
        self._buckets = buckets
        per = self.PERIODS
        self._address: dict[Action, int] = {
            "conversation": abuse.conversations_per_address,
            "message": abuse.messages_per_address,
            "escalation": abuse.escalations_per_address,
        }
        self._session: dict[Action, int] = {
            "conversation": abuse.conversations_per_session,
            "message": abuse.messages_per_session,
            "escalation": abuse.escalations_per_session,
        }
        self._per = per

    async def admit(self, action: Action, client: Client) -> None:
        """Raise :class:`RateLimited` (429, Retry-After) when over a limit; callers with a
        key are limited by the tenant/user limits instead."""
        if not client.anonymous:
            return
        takes = []
        per = self._per[action]
        if self._address[action]:
            rate = Rate(self._address[action], per)
            takes.append(Take(f"anon:{action}:address:{client.tenant}:{client.address}", rate))
        if self._session[action] and client.session is not None:
            rate = Rate(self._session[action], per)
            takes.append(Take(f"anon:{action}:session:{client.tenant}:{client.session}", rate))
        if not takes:
            return
        wait = await self._buckets.take(takes)
        if wait > 0:
            what = {"conversation": "new conversations", "message": "messages"}.get(
                action, "requests for a person"
            )
            raise RateLimited(
                f"too many {what} from this connection; try again in {math.ceil(wait)} s",
                retry_after=math.ceil(wait),
            )


@dataclass(frozen=True, slots=True)
class AnonymousReservation:
    tokens: Reservation
    usd: Reservation


class AnonymousBudget:
    """A daily token and cost budget per browser session and per client address.

    Reserve the worst case before the model is called, settle the actual usage after
    (both atomic on the ledger, so concurrent turns cannot overspend).
    """

    def __init__(
        self,
        ledger: Ledger,
        abuse: AbuseSettings,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        reservation_ttl: float = 600.0,
    ) -> None:
        self._ledger = ledger
        self._abuse = abuse
        self._now = now
        self._ttl = reservation_ttl

    def _lines(self, client: Client, kind: Kind) -> list[tuple[str, int]]:
        day = self._now().astimezone(UTC).strftime("%Y-%m-%d")
        a = self._abuse
        if kind == "tokens":
            per_session, per_address = (
                a.anonymous_daily_tokens_per_session,
                a.anonymous_daily_tokens_per_address,
            )
        else:
            per_session = to_units(a.anonymous_daily_usd_per_session)
            per_address = to_units(a.anonymous_daily_usd_per_address)
        lines = []
        tenant = client.tenant
        if per_address:
            lines.append((f"anon:{kind}:address:{tenant}:{client.address}:{day}", per_address))
        if per_session and client.session is not None:
            lines.append((f"anon:{kind}:session:{tenant}:{client.session}:{day}", per_session))
        return lines

    async def _reserve(self, client: Client, kind: Kind, units: int) -> Reservation:
        lines = self._lines(client, kind)
        reservation = Reservation(uuid.uuid4().hex, tuple(k for k, _ in lines), units)
        if not lines:
            return reservation
        refused = await self._ledger.reserve(reservation, [lim for _, lim in lines], self._ttl)
        if refused is None:
            return reservation
        now = self._now().astimezone(UTC)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
        who = "connection" if ":address:" in lines[refused][0] else "session"
        raise BudgetExceeded(
            f"the daily allowance of this {who} is used up; try again tomorrow or sign in",
            retry_after=float(math.ceil((midnight - now).total_seconds())),
        )

    async def reserve(
        self, client: Client, tokens: int, usd: Decimal
    ) -> AnonymousReservation | None:
        """None for callers with an API key (their budgets are the key's)."""
        if not client.anonymous:
            return None
        held_tokens = await self._reserve(client, "tokens", tokens)
        try:
            held_usd = await self._reserve(client, "usd", to_units(usd))
        except BudgetExceeded:
            await self._ledger.settle(held_tokens, 0)
            raise
        return AnonymousReservation(held_tokens, held_usd)

    async def settle(self, reservation: AnonymousReservation, tokens: int, usd: Decimal) -> None:
        if reservation.tokens.keys:
            await self._ledger.settle(reservation.tokens, tokens)
        if reservation.usd.keys:
            await self._ledger.settle(reservation.usd, to_units(usd))

    async def spent(self, client: Client) -> tuple[int, Decimal]:
        """Tokens and USD spent today (settled) by the client's address."""
        tokens = usd = 0
        for key, _ in self._lines(client, "tokens")[:1]:
            tokens = (await self._ledger.balance(key))[0]
        for key, _ in self._lines(client, "usd")[:1]:
            usd = (await self._ledger.balance(key))[0]
        return tokens, Decimal(usd) * Decimal("0.000000001")


class StreamSlots:
    """Open live streams per client address and per conversation (in this worker)."""

    def __init__(self, per_address: int, per_conversation: int) -> None:
        self._per_address = per_address
        self._per_conversation = per_conversation
        self._by_address: dict[str, int] = {}
        self._by_conversation: dict[str, int] = {}

    def open_for(self, address: str) -> int:
        return self._by_address.get(address, 0)

    def acquire(self, address: str, conversation: str) -> StreamSlot:
        """Take a slot, or raise :class:`RateLimited`; release it with ``slot.release()``."""
        if self._per_address and self._by_address.get(address, 0) >= self._per_address:
            raise RateLimited(
                f"too many live streams from this connection (limit {self._per_address})",
                retry_after=30,
            )
        if (
            self._per_conversation
            and self._by_conversation.get(conversation, 0) >= self._per_conversation
        ):
            raise RateLimited(
                f"too many live streams for this conversation (limit {self._per_conversation})",
                retry_after=30,
            )
        self._by_address[address] = self._by_address.get(address, 0) + 1
        self._by_conversation[conversation] = self._by_conversation.get(conversation, 0) + 1
        return StreamSlot(self, address, conversation)

    def _release(self, address: str, conversation: str) -> None:
        for counts, key in ((self._by_address, address), (self._by_conversation, conversation)):
            counts[key] -= 1
            if counts[key] <= 0:
                del counts[key]


@dataclass
class StreamSlot:
    slots: StreamSlots
    address: str
    conversation: str
    released: bool = False

    def release(self) -> None:
        """Idempotent: the stream's end and its garbage collection may both call it."""
        if not self.released:
            self.released = True
            self.slots._release(self.address, self.conversation)


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
