"""Limits and budgets of anonymous callers (no API key).

Anonymous traffic is limited per client address and per browser session
(:class:`ClientLimits`: new conversations, messages, escalations) and has a daily
token and cost budget per session and per address (:class:`AnonymousBudget`, on the
same ledger as the other budgets, in-process or Redis). Callers with an API key are
accounted to the key's identity instead.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import ClassVar, Literal

from frontdesk.admission.buckets import Buckets, Rate, Take
from frontdesk.admission.budgets import Ledger, Reservation, to_units
from frontdesk.errors import BudgetExceeded, RateLimited
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
