"""Bounds of numeric request parameters that reach SQL.

A query parameter compared with, or passed to, the database must fit its column:
a larger integer raised ``OverflowError`` in the SQLite driver (a 500 found by the
schemathesis run: ``/api/agent/queue?offset=14660490641371614580572160``), and
PostgreSQL rejects an ``int4`` out of range. Validated at the edge, it is a 422.
"""

from __future__ import annotations

SQL_INT_MAX = 2**31 - 1
"""The largest value of the narrowest integer column (``INTEGER`` on PostgreSQL)."""
