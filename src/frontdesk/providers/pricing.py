"""Cost per call from a versioned price table kept as data.

The table (``providers/data/prices.json`` by default) has a ``version``, an
``effective`` date, and per model the price of input, output and cached input
tokens in USD per 1M tokens as decimal strings (optionally a ``long_context`` tier
above a prompt-size threshold). All arithmetic is :class:`~decimal.Decimal`.

``Usage.input_tokens`` is the whole prompt and ``cached_tokens`` the part read from
the vendor's cache (the shape every adapter reports), so::

    cost = (input - cached) * input_price + cached * cached_price + output * output_price

Local and scripted models cost 0. A model missing from the table costs 0 but the
:class:`Quote` says ``known=False`` so the turn record and ``frontdesk costs`` can
flag it; budgets use :meth:`PriceTable.worst_case`, which prices an unknown model
at the table's most expensive rates rather than at 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frontdesk.domain import Usage
from frontdesk.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from frontdesk.config import EndpointConfig

PER_TOKENS = Decimal(1_000_000)
FREE_DIALECTS = frozenset({"local", "scripted"})
_SNAPSHOT = re.compile(r"(?:-\d{8}|-\d{4}-\d{2}-\d{2}|@\d{8}|-latest)$")


@dataclass(frozen=True, slots=True)
class Rates:
    input: Decimal
    output: Decimal
    cached: Decimal


@dataclass(frozen=True, slots=True)
class ModelPrice:
    rates: Rates
    long_threshold: int | None = None
    long_rates: Rates | None = None

    def rates_for(self, prompt_tokens: int) -> Rates:
        if self.long_rates is None or self.long_threshold is None:
            return self.rates
        return self.long_rates if prompt_tokens > self.long_threshold else self.rates


@dataclass(frozen=True, slots=True)
class Quote:
    amount: Decimal
    known: bool
    model_key: str | None
    """The table entry used (``None`` when unknown or free)."""
    version: str


def _rates(raw: dict[str, Any], where: str) -> Rates:
    try:
        values = {k: Decimal(str(raw[k])) for k in ("input", "output", "cached")}
    except (KeyError, ArithmeticError) as exc:
        raise ConfigError(f"price table: {where} needs decimal input/output/cached") from exc
    if any(v < 0 for v in values.values()):
        raise ConfigError(f"price table: {where} has a negative price")
    return Rates(**values)


class PriceTable:
    def __init__(self, version: str, effective: date, prices: dict[str, ModelPrice]) -> None:
        self.version = version
        self.effective = effective
        self.prices = prices
        self._max = Rates(
            max((p.rates.input for p in prices.values()), default=Decimal(0)),
            max((p.rates.output for p in prices.values()), default=Decimal(0)),
            max((p.rates.cached for p in prices.values()), default=Decimal(0)),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PriceTable:
        try:
            version = str(data["version"])
            effective = date.fromisoformat(str(data["effective"]))
            models = data["models"]
        except (KeyError, ValueError) as exc:
            raise ConfigError(
                f"price table: missing or bad version/effective/models: {exc}"
            ) from exc
        prices: dict[str, ModelPrice] = {}
        for name, raw in models.items():
            long = raw.get("long_context")
            prices[name.lower()] = ModelPrice(
                _rates(raw, name),
                int(long["threshold"]) if long else None,
                _rates(long, f"{name}.long_context") if long else None,
            )
        return cls(version, effective, prices)

    def lookup(self, model: str) -> tuple[str, ModelPrice] | None:
        name = model.lower().rsplit("/", 1)[-1].removeprefix("models/")
        for candidate in (name, _SNAPSHOT.sub("", name)):
            price = self.prices.get(candidate)
            if price is not None:
                return candidate, price
        return None

    def quote(self, model: str, usage: Usage, *, dialect: str | None = None) -> Quote:
        if dialect in FREE_DIALECTS:
            return Quote(Decimal(0), True, None, self.version)
        found = self.lookup(model)
        if found is None:
            return Quote(Decimal(0), False, None, self.version)
        key, price = found
        rates = price.rates_for(usage.input_tokens)
        cached = min(usage.cached_tokens, usage.input_tokens)
        amount = (
            (usage.input_tokens - cached) * rates.input
            + cached * rates.cached
            + usage.output_tokens * rates.output
        ) / PER_TOKENS
        return Quote(amount, True, key, self.version)

    def cost_of(self, model: str, usage: Usage, *, dialect: str | None = None) -> Decimal:
        return self.quote(model, usage, dialect=dialect).amount

    def worst_case(
        self, model: str, prompt_tokens: int, max_output_tokens: int, *, dialect: str | None = None
    ) -> Decimal:
        """Most a call can cost: no cache discount, every allowed output token used."""
        if dialect in FREE_DIALECTS:
            return Decimal(0)
        found = self.lookup(model)
        rates = found[1].rates_for(prompt_tokens) if found else self._max
        return (prompt_tokens * rates.input + max_output_tokens * rates.output) / PER_TOKENS

    def worst_case_for(
        self, endpoints: Iterable[EndpointConfig], prompt_tokens: int, max_output_tokens: int
    ) -> Decimal:
        """The most any endpoint of a chain could charge for this call (0 for none)."""
        costs = [
            self.worst_case(ep.model, prompt_tokens, max_output_tokens, dialect=ep.dialect)
            for ep in endpoints
        ]
        return max(costs, default=Decimal(0))


def load_price_table(path: Path | None = None) -> PriceTable:
    """The packaged table, or the one at ``path`` (operators may ship their own)."""
    try:
        if path is None:
            text = resources.files("frontdesk.providers").joinpath("data/prices.json").read_text()
        else:
            text = path.read_text(encoding="utf-8")
        data = json.loads(text)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load price table {path or 'prices.json'}: {exc}") from exc
    return PriceTable.from_dict(data)
