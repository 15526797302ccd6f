from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from frontdesk.domain import Usage
from frontdesk.errors import ConfigError
from frontdesk.providers.pricing import PriceTable, load_price_table


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_price_table()


def test_packaged_table_is_versioned(table: PriceTable) -> None:
    assert table.version
    assert table.effective <= date(2026, 11, 30)
    assert len(table.prices) >= 20
    for price in table.prices.values():
        assert price.rates.cached <= price.rates.input <= price.rates.output


def test_exact_decimal_cost(table: PriceTable) -> None:
    # gpt-4o: 2.50 in / 10.00 out / 1.25 cached per 1M
    cost = table.cost_of("gpt-4o", Usage(input_tokens=1200, output_tokens=300, cached_tokens=200))
    assert cost == Decimal("0.00575")  # (1000*2.5 + 200*1.25 + 300*10) / 1e6
    assert isinstance(cost, Decimal)


def test_snapshot_names_and_prefixes(table: PriceTable) -> None:
    usage = Usage(1_000_000, 0)
    assert table.cost_of("gpt-4o-2024-08-06", usage) == Decimal("2.50")
    assert table.cost_of("gpt-4o-mini", usage) == Decimal("0.15")  # not gpt-4o's price
    assert table.cost_of("claude-3-5-haiku-20241022", usage) == Decimal("0.80")
    assert table.cost_of("models/gemini-2.5-flash", usage) == Decimal("0.30")
    assert table.cost_of("openai/gpt-4.1-mini", usage) == Decimal("0.40")


def test_unknown_model_costs_zero_but_is_flagged(table: PriceTable) -> None:
    quote = table.quote("my-finetune-v7", Usage(1000, 1000))
    assert quote.amount == 0
    assert quote.known is False
    assert quote.version == table.version
    known = table.quote("gpt-4o", Usage(1000, 1000))
    assert (known.known, known.model_key) == (True, "gpt-4o")


def test_local_and_scripted_are_free(table: PriceTable) -> None:
    quote = table.quote("smollm2", Usage(5000, 500), dialect="local")
    assert (quote.amount, quote.known) == (Decimal(0), True)
    assert table.cost_of("gpt-4o", Usage(10, 10), dialect="scripted") == 0


def test_long_context_tier(table: PriceTable) -> None:
    short = table.cost_of("gemini-2.5-pro", Usage(200_000, 0))
    long = table.cost_of("gemini-2.5-pro", Usage(200_001, 0))
    assert short == Decimal("0.25")
    assert long == Decimal("2.50") * 200_001 / 1_000_000


def test_worst_case_ignores_cache_and_prices_unknown_models_high(table: PriceTable) -> None:
    assert table.worst_case("gpt-4o", 1000, 500) == Decimal("0.0075")
    unknown = table.worst_case("mystery", 1000, 500)
    assert unknown >= table.worst_case("claude-opus-4", 1000, 500)
    assert table.worst_case("smollm2", 1000, 500, dialect="local") == 0


def test_custom_table_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    data = {
        "version": "v9",
        "effective": "2030-01-01",
        "models": {"m": {"input": "1", "output": "2", "cached": "0.5"}},
    }
    path.write_text(json.dumps(data))
    table = load_price_table(path)
    assert table.version == "v9"
    assert table.cost_of("m", Usage(1_000_000, 1_000_000)) == Decimal(3)
    data["models"] = {"m": {"input": "-1", "output": "2", "cached": "0"}}
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match="negative"):
        load_price_table(path)
    with pytest.raises(ConfigError, match="cannot load"):
        load_price_table(tmp_path / "missing.json")
    path.write_text(json.dumps({"models": {}}))
    with pytest.raises(ConfigError, match="version"):
        load_price_table(path)
