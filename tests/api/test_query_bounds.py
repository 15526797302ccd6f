"""Integer query parameters are bounded before they reach SQL (found by schemathesis).

Before: ``GET /api/agent/queue?offset=14660490641371614580572160`` answered 500
(``OverflowError: Python int too large to convert to SQLite INTEGER``), and an
``after_seq`` past PostgreSQL's ``int4`` would have failed in the driver the same way.
"""

from __future__ import annotations

from frontdesk.api.params import SQL_INT_MAX
from tests.apphelpers import Running, new_conversation

ADMIN = {"Authorization": "Bearer dev-admin-token"}


def test_a_huge_queue_offset_is_a_422_and_the_largest_allowed_is_an_empty_page(
    running: Running,
) -> None:
    with running(None) as client:
        huge = client.get("/api/agent/queue?offset=14660490641371614580572160", headers=ADMIN)
        assert huge.status_code == 422, huge.text
        over = client.get(f"/api/agent/queue?offset={SQL_INT_MAX + 1}", headers=ADMIN)
        assert over.status_code == 422, over.text
        edge = client.get(f"/api/agent/queue?offset={SQL_INT_MAX}", headers=ADMIN)
        assert edge.status_code == 200, edge.text
        assert edge.json()["tickets"] == []


def test_a_huge_after_seq_is_a_422(running: Running) -> None:
    with running(None) as client:
        cid = new_conversation(client)
        resp = client.get(f"/api/conversations/{cid}/events?after_seq={SQL_INT_MAX + 1}")
        assert resp.status_code == 422, resp.text
