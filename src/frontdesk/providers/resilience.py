"""How the resilience wrappers compose around one endpoint, in one place.

``harden(provider, ...)`` returns::

    Retrying(Breakered(Limited(WithTimeouts(provider)), breaker), policy)

and a bot's chain is ``Fallback([harden(p) for p in endpoints])``. Why this order:

* ``WithTimeouts`` is innermost so its deadlines time the vendor only, never our
  own waiting for a rate-limit slot.
* ``Limited`` sits inside the breaker and inside the retries: every real attempt
  takes its RPM/TPM share, an open circuit spends none, and our own limit (a
  ``ProviderRateLimited``) neither trips the breaker nor resets it.
* ``Breakered`` is inside ``Retrying``: each attempt counts towards the breaker,
  and once it opens, ``CircuitOpen`` (not retryable) ends the retries at once.
* ``Retrying`` is outermost per endpoint; ``Fallback`` moves to the next endpoint
  when the retries are exhausted, and records each endpoint's outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from frontdesk.admission.buckets import Buckets
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.breaker import Breakered, CircuitBreaker
from frontdesk.providers.limits import Limited, ProviderLimits
from frontdesk.providers.retry import RetryEvent, Retrying, RetryPolicy
from frontdesk.providers.timeouts import Timeouts, WithTimeouts


@dataclass(frozen=True, slots=True)
class Resilience:
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)
    limits: ProviderLimits = field(default_factory=ProviderLimits)
    max_limit_wait: float = 0.0
    """Seconds ``Limited`` may wait for a slot before failing over."""


def harden(
    provider: ChatProvider,
    *,
    breaker: CircuitBreaker,
    buckets: Buckets | None = None,
    config: Resilience | None = None,
    on_retry: Callable[[RetryEvent], None] | None = None,
) -> Retrying:
    config = config or Resilience()
    wrapped: ChatProvider = WithTimeouts(provider, config.timeouts)
    if buckets is not None and (config.limits.rpm or config.limits.tpm):
        wrapped = Limited(wrapped, buckets, config.limits, max_wait=config.max_limit_wait)
    return Retrying(Breakered(wrapped, breaker), config.policy, on_retry=on_retry)
