"""Replay a recorded turn: run its recorded prompt (or its extractive question and sources)
again with its recorded parameters, and show how the new answer differs from the stored one.

``engine`` re-runs a turn from its record (:attr:`~frontdesk.domain.TurnRecord.inputs`);
``diff`` compares the two answers; the CLI (``frontdesk replay``) and the admin route
(``POST /api/admin/turns/{id}/replay``) print or return the comparison. Nothing is stored.
"""
