"""Request rate limits per tenant/user/conversation: Frontdesk's token buckets vs ``limits``.

Each admitted request is limited by three keys (tenant, user, conversation). Frontdesk's
``AdmissionLimiter`` takes from the three buckets in one step (all or none; one Lua script
on Redis). The ``limits`` package (PyPI) limits one key per ``hit``; the closest equivalent
is three ``hit`` calls per request (not all-or-none: a request refused by its user's limit
has already counted against its tenant), or ``test`` on all three then ``hit`` on all three
(all-or-none within one process only, twice the calls). Both are measured on the in-process
and the Redis backends, sequentially and with 16 requests in flight, plus how often a
refused request still used up its tenant's allowance.

``limits`` is not a dependency of the project; install it beside it for this run::

    .venv/bin/pip install --target /tmp/limits-pkg --no-deps limits==5.8.0 deprecated wrapt
    PYTHONPATH=/tmp/limits-pkg .venv/bin/python benchmarks/bench_admission.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.asyncio import Redis

from frontdesk.admission.buckets import Buckets, MemoryBuckets, Rate, RedisBuckets
from frontdesk.admission.requests import AdmissionLimiter, RequestLimits
from frontdesk.errors import RateLimited

Admit = Callable[[str, str, str], Awaitable[bool]]


@dataclass
class Row:
    name: str
    sequential_us: float
    concurrent_us: float
    refused_but_charged: int


def ours(buckets: Buckets) -> Admit:
    limiter = AdmissionLimiter(
        buckets,
        RequestLimits(tenant=Rate(10**9, 60), user=Rate(10**8, 60), conversation=Rate(10**8, 60)),
    )

    async def admit(tenant: str, user: str, conversation: str) -> bool:
        try:
            await limiter.admit(tenant, user, conversation)
        except RateLimited:
            return False
        return True

    return admit


def theirs(strategy: object, *, all_or_none: bool) -> Admit:
    from limits import RateLimitItemPerMinute  # type: ignore[import-not-found,unused-ignore]

    tenant_rate = RateLimitItemPerMinute(10**9)
    other = RateLimitItemPerMinute(10**8)
    limiter = strategy

    async def admit(tenant: str, user: str, conversation: str) -> bool:
        keys = (
            (tenant_rate, ("tenant", tenant)),
            (other, ("user", tenant, user)),
            (other, ("conversation", tenant, conversation)),
        )
        if all_or_none:
            for item, ids in keys:
                if not await limiter.test(item, *ids):  # type: ignore[attr-defined]
                    return False
        for item, ids in keys:
            if not await limiter.hit(item, *ids):  # type: ignore[attr-defined]
                return False
        return True

    return admit


async def timed(admit: Admit, n: int, concurrency: int) -> float:
    """Microseconds of wall time per admitted request."""
    tenant = uuid.uuid4().hex
    users = [f"u{i}" for i in range(50)]

    async def worker(start: int) -> None:
        for i in range(start, n, concurrency):
            await admit(tenant, users[i % 50], f"c{i % 500}")

    began = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    return (time.perf_counter() - began) / n * 1e6


async def charged_when_refused(make: Callable[[], Admit]) -> int:
    """Tenant allows 3/hour, user 1/hour: 5 requests of one user, then 3 of other users.
    Returns how many of the other users' requests were refused (0 when a refused request
    took nothing from the tenant)."""
    admit = make()
    tenant = uuid.uuid4().hex
    for _ in range(5):
        await admit(tenant, "u1", "c1")
    return sum([not await admit(tenant, f"u{i}", f"c{i}") for i in (2, 3)])


def strict_ours(buckets: Buckets) -> Admit:
    limiter = AdmissionLimiter(buckets, RequestLimits(tenant=Rate(3, 3600), user=Rate(1, 3600)))

    async def admit(tenant: str, user: str, conversation: str) -> bool:
        try:
            await limiter.admit(tenant, user, conversation)
        except RateLimited:
            return False
        return True

    return admit


def strict_theirs(strategy: object, *, all_or_none: bool) -> Admit:
    from limits import RateLimitItemPerHour  # type: ignore[import-not-found,unused-ignore]

    tenant_rate, user_rate = RateLimitItemPerHour(3), RateLimitItemPerHour(1)

    async def admit(tenant: str, user: str, conversation: str) -> bool:
        keys = ((tenant_rate, ("tenant", tenant)), (user_rate, ("user", tenant, user)))
        if all_or_none:
            for item, ids in keys:
                if not await strategy.test(item, *ids):  # type: ignore[attr-defined]
                    return False
        for item, ids in keys:
            if not await strategy.hit(item, *ids):  # type: ignore[attr-defined]
                return False
        return True

    return admit


async def run(args: argparse.Namespace) -> list[Row]:
    from limits.aio import (  # type: ignore[import-not-found,unused-ignore]
        storage,
        strategies,
    )

    redis = Redis.from_url(args.redis)
    prefix = f"bench:{uuid.uuid4().hex}:"
    rows: list[Row] = []

    def memory_limits(kind: str) -> object:
        store = storage.MemoryStorage()
        return getattr(strategies, kind)(store)

    def redis_limits(kind: str) -> object:
        store = storage.RedisStorage(
            args.redis, implementation="redispy", key_prefix=prefix + "limits"
        )
        return getattr(strategies, kind)(store)

    cases: list[tuple[str, Callable[[], Admit], Callable[[], Admit]]] = [
        (
            "Frontdesk token buckets, in-process",
            lambda: ours(MemoryBuckets()),
            lambda: strict_ours(MemoryBuckets()),
        ),
        (
            "Frontdesk token buckets, Redis (1 Lua call)",
            lambda: ours(RedisBuckets(redis, prefix=prefix + "rl:")),
            lambda: strict_ours(RedisBuckets(redis, prefix=prefix + "rl2:")),
        ),
    ]
    for kind in (
        "FixedWindowRateLimiter",
        "MovingWindowRateLimiter",
        "SlidingWindowCounterRateLimiter",
    ):
        for where, backend in (("in-process", memory_limits), ("Redis", redis_limits)):
            for all_or_none in (False, True):
                how = "test+hit x3" if all_or_none else "hit x3"
                cases.append(
                    (
                        f"limits {kind.removesuffix('RateLimiter')}, {where}, {how}",
                        _bind(theirs, backend, kind, all_or_none),
                        _bind(strict_theirs, backend, kind, all_or_none),
                    )
                )
    try:
        for name, make, strict in cases:
            n = args.requests if "Redis" not in name else args.redis_requests
            seq = await timed(make(), n, 1)
            conc = await timed(make(), n, 16)
            refused = await charged_when_refused(strict)
            rows.append(Row(name, seq, conc, refused))
            print(f"{name}: {seq:.1f} us sequential, {conc:.1f} us at 16, refused {refused}")
    finally:
        keys = [k async for k in redis.scan_iter(match=prefix + "*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    return rows


def _bind(
    build: Callable[..., Admit], backend: Callable[[str], object], kind: str, all_or_none: bool
) -> Callable[[], Admit]:
    return lambda: build(backend(kind), all_or_none=all_or_none)


def table(rows: list[Row]) -> str:
    lines = [
        "| Limiter (3 keys per request) | µs/request, sequential | µs/request, 16 in flight "
        "| other users refused after one user's refused requests (0 = all-or-none) |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.name} | {r.sequential_us:.1f} | {r.concurrent_us:.1f} "
            f"| {r.refused_but_charged} of 2 |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20000)
    p.add_argument("--redis-requests", type=int, default=4000)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = p.parse_args()
    load = os.getloadavg()
    rows = asyncio.run(run(args))
    print(f"\nload average at start {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
