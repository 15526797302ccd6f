"""Which tenant an authenticated caller acts for.

Every admin and knowledge route is scoped by the caller's tenant; a resource of another
tenant answers 404, exactly like one that does not exist (403 would reveal it exists).

The settings admin token (``FRONTDESK_ADMIN_TOKEN``) is the operator of the ``default``
tenant, not a super-admin: on these routes it sees only the default tenant, so a leaked
or guessed operator token exposes no other tenant. Keys of other tenants are made with
``frontdesk keys create --tenant T``.
"""

from __future__ import annotations

from frontdesk.auth.keys import Principal

DEFAULT_TENANT = "default"


def tenant_of(principal: Principal) -> str:
    """The one tenant ``principal`` may read and change on admin and knowledge routes."""
    return principal.tenant_id or DEFAULT_TENANT
