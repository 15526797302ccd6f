from __future__ import annotations

from frontdesk.escalation.priority import REQUESTER_FIELD, Requester
from frontdesk.identity import Identity
from frontdesk.identity.binding import IDENTITY_FIELD, Bind, bound_user, without_identity

DANA = Identity(tenant="default", user_id="u_1001", method="jwt", email="dana@acme.example")
EVE = Identity(tenant="default", user_id="u_6666", method="jwt")


def test_an_anonymous_conversation_is_bound_to_the_first_verified_customer() -> None:
    before = {REQUESTER_FIELD: {"session": "s1", "address": "a1", "identity": None}, "x": 1}
    bind = Bind(DANA)
    after = bind(before)
    assert bind.outcome == "bound"
    assert bound_user(after) == "u_1001"
    assert after[IDENTITY_FIELD]["email"] == "dana@acme.example"
    # limits, budgets and the escalation queue now see the customer, the session is kept
    requester = Requester.of(after)
    assert (requester.identity, requester.session) == ("customer:default:u_1001", "s1")
    assert after["x"] == 1


def test_the_same_customer_again_and_another_customer() -> None:
    bound = Bind(DANA)({})
    same = Bind(DANA)
    assert same(bound) == bound and same.outcome == "same"
    other = Bind(EVE)
    assert other(bound) == bound and other.outcome == "other"


def test_an_api_key_requester_keeps_its_identity() -> None:
    after = Bind(DANA)({REQUESTER_FIELD: {"identity": "key_123"}})
    assert Requester.of(after).identity == "key_123"


def test_a_client_cannot_set_the_identity_field() -> None:
    assert without_identity({IDENTITY_FIELD: {"user_id": "u_1001"}, "page": "/billing"}) == {
        "page": "/billing"
    }
