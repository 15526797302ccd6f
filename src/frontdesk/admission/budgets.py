"""Spending budgets per tenant, user and conversation, per day, month or in total.

Before a call the caller reserves the call's worst-case cost
(:meth:`~frontdesk.providers.pricing.PriceTable.worst_case`); the reservation
succeeds only if, for every budget that applies, ``spent + reserved + amount``
stays within the limit — checked and recorded in one atomic step, so concurrent
requests cannot overbook. After the call :meth:`Budgets.settle` replaces the
reservation by the actual cost (``release`` when nothing was spent). Spend is
exact: amounts are kept as integers of 1e-9 USD (reservations rounded up).

If a vendor bills more than was reserved (the prompt estimate of a vendor without
an offline tokenizer was low), the ledger records the real spend: it can then pass
the limit by that difference, and every later reservation is refused.

A reservation that is never settled (the worker died) expires after
``reservation_ttl`` seconds and stops holding budget.

Backends: :class:`MemoryLedger` (one process; not persistent) and
:class:`RedisLedger` (shared and durable as Redis is; one Lua script per step, the
script's clock is the Redis server's).
"""

from __future__ import annotations

import heapq
import math
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import TYPE_CHECKING, Literal, Protocol

from frontdesk.errors import BudgetExceeded

if TYPE_CHECKING:
    from redis.asyncio import Redis

Scope = Literal["tenant", "user", "conversation"]
Window = Literal["day", "month", "total"]
UNIT = Decimal("0.000000001")


def to_units(amount: Decimal) -> int:
    return int((amount / UNIT).to_integral_value(rounding=ROUND_CEILING))


def from_units(units: int) -> Decimal:
    return Decimal(units) * UNIT


@dataclass(frozen=True, slots=True)
class BudgetLimit:
    scope: Scope
    window: Window
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Subject:
    tenant: str
    user: str | None = None
    conversation: str | None = None

    def id_for(self, scope: Scope) -> str | None:
        if scope == "tenant":
            return self.tenant
        value = self.user if scope == "user" else self.conversation
        return None if value is None else f"{self.tenant}:{value}"


@dataclass(frozen=True, slots=True)
class Line:
    """One budget that applies to a call: its ledger key and limit."""

    key: str
    limit: int
    limit_spec: BudgetLimit
    resets_at: datetime | None


@dataclass(frozen=True, slots=True)
class Reservation:
    id: str
    keys: tuple[str, ...]
    units: int

    @property
    def amount(self) -> Decimal:
        return from_units(self.units)


class Ledger(Protocol):
    async def reserve(
        self, reservation: Reservation, limits: Sequence[int], ttl: float
    ) -> int | None:
        """Record the reservation when every key has room; else the index of a full key."""
        ...

    async def settle(self, reservation: Reservation, actual_units: int) -> None: ...

    async def balance(self, key: str) -> tuple[int, int]:
        """(spent, currently reserved) units of one key."""
        ...


class MemoryLedger:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._spent: dict[str, int] = {}
        self._reserved: dict[str, int] = {}
        self._open: dict[str, Reservation] = {}
        self._deadlines: list[tuple[float, str]] = []

    def _expire(self) -> None:
        now = self._clock()
        while self._deadlines and self._deadlines[0][0] <= now:
            _, rid = heapq.heappop(self._deadlines)
            res = self._open.pop(rid, None)
            if res is None:
                continue  # settled before it expired
            for key in res.keys:
                self._reserved[key] -= res.units

    async def reserve(
        self, reservation: Reservation, limits: Sequence[int], ttl: float
    ) -> int | None:
        self._expire()
        for i, (key, limit) in enumerate(zip(reservation.keys, limits, strict=True)):
            used = self._spent.get(key, 0) + self._reserved.get(key, 0)
            if used + reservation.units > limit:
                return i
        for key in reservation.keys:
            self._reserved[key] = self._reserved.get(key, 0) + reservation.units
        self._open[reservation.id] = reservation
        heapq.heappush(self._deadlines, (self._clock() + ttl, reservation.id))
        return None

    async def settle(self, reservation: Reservation, actual_units: int) -> None:
        held = self._open.pop(reservation.id, None) is not None
        for key in reservation.keys:
            if held:
                self._reserved[key] -= reservation.units
            self._spent[key] = self._spent.get(key, 0) + actual_units

    async def balance(self, key: str) -> tuple[int, int]:
        self._expire()
        return self._spent.get(key, 0), self._reserved.get(key, 0)


# Each key K has a hash K (spent, reserved) and a sorted set K:open of reservation
# ids scored by their expiry; expired ones are released before checking.
# KEYS: budget keys. ARGV: reservation id, units, ttl seconds, then one limit per key.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rid = ARGV[1]
local units = ARGV[2]
local ttl = tonumber(ARGV[3])
for i, key in ipairs(KEYS) do
  local open = key .. ':open'
  local expired = redis.call('ZRANGEBYSCORE', open, '-inf', now)
  for _, member in ipairs(expired) do
    redis.call('HINCRBY', key, 'reserved', 0 - tonumber(string.match(member, ':(%d+)$')))
  end
  if #expired > 0 then
    redis.call('ZREMRANGEBYSCORE', open, '-inf', now)
  end
end
for i, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'spent', 'reserved')
  local used = (tonumber(v[1]) or 0) + (tonumber(v[2]) or 0)
  if used + tonumber(units) > tonumber(ARGV[3 + i]) then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'reserved', units)
  redis.call('ZADD', key .. ':open', now + ttl, rid .. ':' .. units)
end
return 0
"""

# KEYS: budget keys. ARGV: reservation id, reserved units, actual units.
# (0 - n, not '-' .. n: Redis refuses the integer "-0" of a reservation of 0 units)
_SETTLE = """
local member = ARGV[1] .. ':' .. ARGV[2]
for i, key in ipairs(KEYS) do
  if redis.call('ZREM', key .. ':open', member) == 1 then
    redis.call('HINCRBY', key, 'reserved', 0 - tonumber(ARGV[2]))
  end
  redis.call('HINCRBY', key, 'spent', ARGV[3])
end
return 0
"""


class RedisLedger:
    def __init__(self, redis: Redis, prefix: str = "frontdesk:budget:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._reserve = redis.register_script(_RESERVE)
        self._settle = redis.register_script(_SETTLE)

    async def reserve(
        self, reservation: Reservation, limits: Sequence[int], ttl: float
    ) -> int | None:
        keys = [self._prefix + k for k in reservation.keys]
        args: list[str | int | float] = [reservation.id, reservation.units, ttl, *limits]
        refused = int(await self._reserve(keys=keys, args=args))
        return refused - 1 if refused else None

    async def settle(self, reservation: Reservation, actual_units: int) -> None:
        keys = [self._prefix + k for k in reservation.keys]
        await self._settle(keys=keys, args=[reservation.id, reservation.units, actual_units])

    async def balance(self, key: str) -> tuple[int, int]:
        spent, reserved = await self._redis.hmget(self._prefix + key, ["spent", "reserved"])
        return int(spent or 0), int(reserved or 0)


def _period(window: Window, now: datetime) -> tuple[str, datetime | None]:
    if window == "day":
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start.strftime("%Y-%m-%d"), start + timedelta(days=1)
    if window == "month":
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = (start + timedelta(days=32)).replace(day=1)
        return start.strftime("%Y-%m"), nxt
    return "all", None


class Budgets:
    """Reserve before a call, settle after; raises :class:`BudgetExceeded` when full."""

    def __init__(
        self,
        ledger: Ledger,
        limits: Sequence[BudgetLimit],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        reservation_ttl: float = 600.0,
    ) -> None:
        self._ledger = ledger
        self._limits = list(limits)
        self._now = now
        self._ttl = reservation_ttl

    def applies(self, subject: Subject) -> bool:
        """Whether any budget applies to ``subject`` (else reserving holds nothing)."""
        return any(subject.id_for(limit.scope) is not None for limit in self._limits)

    def lines(self, subject: Subject) -> list[Line]:
        now = self._now().astimezone(UTC)
        lines = []
        for limit in self._limits:
            owner = subject.id_for(limit.scope)
            if owner is None:
                continue
            period, resets_at = _period(limit.window, now)
            key = f"{limit.scope}:{owner}:{limit.window}:{period}"
            lines.append(Line(key, to_units(limit.amount), limit, resets_at))
        return lines

    async def reserve(self, subject: Subject, amount: Decimal) -> Reservation:
        lines = self.lines(subject)
        reservation = Reservation(uuid.uuid4().hex, tuple(ln.key for ln in lines), to_units(amount))
        if not lines:
            return reservation
        refused = await self._ledger.reserve(reservation, [ln.limit for ln in lines], self._ttl)
        if refused is None:
            return reservation
        line = lines[refused]
        retry_after = None
        if line.resets_at is not None:
            retry_after = float(math.ceil((line.resets_at - self._now()).total_seconds()))
        spec = line.limit_spec
        raise BudgetExceeded(
            f"the {spec.window} budget of this {spec.scope} is spent", retry_after=retry_after
        )

    async def settle(self, reservation: Reservation, actual: Decimal) -> None:
        if reservation.keys:
            await self._ledger.settle(reservation, to_units(actual))

    async def release(self, reservation: Reservation) -> None:
        await self.settle(reservation, Decimal(0))

    async def remaining(self, subject: Subject) -> Decimal | None:
        """The smallest headroom among the budgets that apply (``None``: no budget)."""
        best: int | None = None
        for line in self.lines(subject):
            spent, reserved = await self._ledger.balance(line.key)
            left = max(0, line.limit - spent - reserved)
            best = left if best is None else min(best, left)
        return None if best is None else from_units(best)
