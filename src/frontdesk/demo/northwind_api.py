"""A small fake Northwind Data API for demos and tests of the sample bot's actions.

Every route serves the customer named by the ``X-Frontdesk-Acting-For`` token (checked with
the shared action secret; audience ``northwind-api``), never one named in the request:

* ``GET /v1/me/plan``: plan, since when, seats, renewal.
* ``GET /v1/me/usage?month=YYYY-MM``: rows synced, pipeline runs, failed runs.
* ``POST /v1/me/invoices/last/resend``: resends the newest invoice to the account email
  (an ``Idempotency-Key`` seen before returns the first answer and sends nothing).
* ``POST /v1/me/tickets`` ``{"subject", "description", "run_id"?}``: opens a ticket.

``NorthwindState`` records every call (for tests) and can be told to fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import jwt
from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from frontdesk.actions.acting_for import verify_acting_for
from frontdesk.demo.northwind_data import Account, sample_accounts, usage

AUDIENCE = "northwind-api"


@dataclass
class NorthwindState:
    secret: str
    accounts: dict[str, Account] = field(default_factory=sample_accounts)
    calls: list[dict[str, Any]] = field(default_factory=list)
    resent: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)
    """HTTP statuses to answer the next calls with (tests of failures)."""
    idempotent: dict[str, Any] = field(default_factory=dict)


class TicketIn(BaseModel):
    subject: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=4000)
    run_id: str | None = Field(None, max_length=64)


ActingFor = Annotated[str | None, Header(alias="X-Frontdesk-Acting-For")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def create_northwind_app(state: NorthwindState) -> FastAPI:
    app = FastAPI(title="Northwind Data API (demo)", version="1.0.0")

    def customer(token: str | None, path: str) -> Account:
        if not token:
            raise HTTPException(401, "missing acting-for token")
        try:
            claims = verify_acting_for(token, state.secret, audience=AUDIENCE)
        except jwt.InvalidTokenError as exc:
            raise HTTPException(401, f"invalid acting-for token: {type(exc).__name__}") from exc
        state.calls.append({"path": path, "user": claims["sub"], "action": claims["act"]})
        if state.failures:
            status = state.failures.pop(0)
            raise HTTPException(status, "injected failure")
        account = state.accounts.get(str(claims["sub"]))
        if account is None:
            raise HTTPException(404, "no such customer")
        return account

    @app.get("/v1/me/plan", operation_id="lookup_plan")
    async def plan(x_frontdesk_acting_for: ActingFor = None) -> dict[str, Any]:
        """The customer's current plan, since when it applies, seats in use, next renewal."""
        a = customer(x_frontdesk_acting_for, "/v1/me/plan")
        return {
            "workspace": a.workspace,
            "plan": a.plan,
            "since": a.plan_since,
            "seats": a.seats,
            "seats_used": a.seats_used,
            "renews_on": a.renews_on,
        }

    @app.get("/v1/me/usage", operation_id="lookup_usage")
    async def month_usage(
        month: Annotated[str, Query(pattern=r"^20\d\d-(0[1-9]|1[0-2])$")],
        x_frontdesk_acting_for: ActingFor = None,
    ) -> dict[str, Any]:
        """Rows synced, pipeline runs and failed runs of the customer's workspace in a month."""
        a = customer(x_frontdesk_acting_for, "/v1/me/usage")
        return {"workspace": a.workspace, **usage(a, month)}

    @app.post("/v1/me/invoices/last/resend", operation_id="resend_last_invoice")
    async def resend(
        x_frontdesk_acting_for: ActingFor = None, idempotency_key: IdempotencyKey = None
    ) -> JSONResponse:
        """Email the customer's newest invoice again to the account's billing email."""
        a = customer(x_frontdesk_acting_for, "/v1/me/invoices/last/resend")
        if idempotency_key and idempotency_key in state.idempotent:
            return JSONResponse(state.idempotent[idempotency_key])
        if not a.invoices:
            raise HTTPException(404, "this account has no invoices yet")
        invoice = a.invoices[0]
        out = {**invoice, "sent_to": a.email}
        state.resent.append({"user": a.user_id, **out})
        if idempotency_key:
            state.idempotent[idempotency_key] = out
        return JSONResponse(out)

    @app.post("/v1/me/tickets", operation_id="open_ticket", status_code=201)
    async def ticket(
        body: TicketIn,
        x_frontdesk_acting_for: ActingFor = None,
        idempotency_key: IdempotencyKey = None,
    ) -> dict[str, Any]:
        """Open a support ticket for the customer's workspace."""
        a = customer(x_frontdesk_acting_for, "/v1/me/tickets")
        if idempotency_key and idempotency_key in state.idempotent:
            return dict(state.idempotent[idempotency_key])
        number = f"NW-{4100 + len(state.tickets)}"
        out = {"ticket_id": number, "status": "open", "subject": body.subject}
        state.tickets.append({"user": a.user_id, **out, "run_id": body.run_id})
        if idempotency_key:
            state.idempotent[idempotency_key] = out
        return out

    return app
