"""Answer-quality evaluation: golden cases run through the real chat API and scored.

Modules: ``cases`` (the case format and its strict loader), ``matching`` (text
normalisation, fact and refusal detection), ``observe`` (an answer as the customer
saw it, from the SSE events), ``runner`` (cases over HTTP, concurrency-limited),
``inprocess`` (a throwaway server for a bot), ``scoring`` and ``summary`` (per-case
scores and totals per split), ``compare``, ``export`` and ``report`` (offline HTML).
"""
