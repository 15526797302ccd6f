"""Per-tenant admission: request rate limits, cost budgets, anonymous callers' limits and
budgets, and live-stream slots, each on an in-process or a Redis backend.

- :mod:`~frontdesk.admission.buckets`: token buckets (``MemoryBuckets``, ``RedisBuckets``)
- :mod:`~frontdesk.admission.requests`: requests per tenant, user and conversation
- :mod:`~frontdesk.admission.budgets`: spend budgets on a ledger (``MemoryLedger``, ``RedisLedger``)
- :mod:`~frontdesk.admission.anonymous`: callers without a key, per address and session
- :mod:`~frontdesk.admission.streams`: open live streams per address and conversation
- :mod:`~frontdesk.admission.gate`: :class:`~frontdesk.admission.gate.Admission`, all of it
  for one bot
"""
