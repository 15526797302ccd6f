"""The fake Northwind Data customers: accounts, plans, usage and invoices (deterministic)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Account:
    user_id: str
    name: str
    email: str
    workspace: str
    plan: str
    plan_since: str
    seats: int
    seats_used: int
    renews_on: str
    row_limit: int
    base_rows: int
    invoices: list[dict[str, Any]] = field(default_factory=list)


def sample_accounts() -> dict[str, Account]:
    return {
        "u_1001": Account(
            user_id="u_1001",
            name="Dana Whitfield",
            email="dana@acme.example",
            workspace="Acme Analytics",
            plan="Growth",
            plan_since="2026-03-03",
            seats=10,
            seats_used=7,
            renews_on="2027-03-03",
            row_limit=5_000_000,
            base_rows=1_284_310,
            invoices=[
                {"number": "INV-2026-0311", "date": "2026-11-03", "amount": "$490.00"},
                {"number": "INV-2026-0247", "date": "2026-10-03", "amount": "$490.00"},
            ],
        ),
        "u_2002": Account(
            user_id="u_2002",
            name="Sam Okafor",
            email="sam@globex.example",
            workspace="Globex Logistics",
            plan="Starter",
            plan_since="2025-08-19",
            seats=3,
            seats_used=3,
            renews_on="2026-12-19",
            row_limit=500_000,
            base_rows=212_904,
            invoices=[{"number": "INV-2026-0298", "date": "2026-11-19", "amount": "$49.00"}],
        ),
        "u_3003": Account(
            user_id="u_3003",
            name="Lena Marsh",
            email="lena@initech.example",
            workspace="Initech",
            plan="Enterprise",
            plan_since="2024-01-15",
            seats=120,
            seats_used=96,
            renews_on="2027-01-15",
            row_limit=100_000_000,
            base_rows=48_770_112,
            invoices=[],
        ),
    }


def usage(account: Account, month: str) -> dict[str, Any]:
    """Rows synced in ``month`` (YYYY-MM): deterministic per account and month."""
    digest = int(hashlib.sha256(f"{account.user_id}:{month}".encode()).hexdigest()[:8], 16)
    rows = account.base_rows + digest % max(1, account.base_rows // 5)
    runs = 300 + digest % 900
    return {
        "month": month,
        "rows_synced": rows,
        "row_limit": account.row_limit,
        "percent_of_limit": round(100 * rows / account.row_limit, 1),
        "pipeline_runs": runs,
        "failed_runs": digest % 7,
    }
