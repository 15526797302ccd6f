from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.actions.northwind import Northwind, northwind


@pytest.fixture(scope="module")
def company() -> Iterator[Northwind]:
    with northwind() as running:
        yield running


@pytest.fixture
def api(company: Northwind) -> Northwind:
    """The shared server with its records and injected failures cleared."""
    s = company.state
    s.calls.clear()
    s.resent.clear()
    s.tickets.clear()
    s.failures.clear()
    s.idempotent.clear()
    return company
