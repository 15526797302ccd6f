"""Telling products from people: capitalised words that spaCy's small model takes for names.

"Can I pay with Bitcoin?" comes back from en_core_web_sm with ``Bitcoin`` as a PERSON, and so
do Venmo, Zelle, Coinbase, Alipay... A redacted "[PERSON]" garbles the question. Three tests,
in order of strength:

* the vocabulary: payment methods, card schemes, banks and money apps, cryptocurrencies, tech
  platforms and carriers (``data/product_terms.json``, loaded explicitly by
  :func:`load_product_terms`); a span made only of these words is not a person;
* the word's shape: product-style compounds ("Dogecoin", "Coinbase", "WeChat", "N26");
* the position: the object of paying, accepting or using ("pay with X", "do you accept X") or
  a word followed by a product noun or state ("X wallet", "X is not working").

The shape and position tests apply to a single uncued word from the model only: a name after
"my name is" or a first-and-last name is never dropped by them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources

from frontdesk.errors import ConfigError


@dataclass(frozen=True, slots=True)
class ProductTerms:
    words: frozenset[str] = frozenset()
    phrases: frozenset[str] = frozenset()

    def covers(self, value: str) -> bool:
        """Whether ``value`` is a product phrase or made only of product words."""
        words = [w.strip(".,!?'’\"()").lower() for w in value.split()]
        words = [w for w in words if w]
        if not words:
            return False
        return " ".join(words) in self.phrases or all(w in self.words for w in words)


def load_product_terms() -> ProductTerms:
    """The shipped vocabulary (about 1 ms). Raises ``ConfigError`` when the file is broken."""
    try:
        raw = json.loads(
            resources.files("frontdesk.guard")
            .joinpath("data/product_terms.json")
            .read_text("utf-8")
        )
        words = frozenset(str(w).lower() for w in raw["words"])
        phrases = frozenset(str(p).lower() for p in raw["phrases"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"guard/data/product_terms.json is unreadable: {exc}") from exc
    return ProductTerms(words=words, phrases=phrases)


# Product-style compounds: a money/tech morpheme at the end ("Dogecoin", "Alipay", "Coinbase",
# "Dropbox", "GitHub"), a capital inside the word that no name prefix explains ("WeChat",
# "PayPal", but not "McDonald", "DeAndre", "O'Neill", "MacArthur"), or digits ("N26", "O2").
_PRODUCT_SUFFIX = re.compile(
    r"(?i)^[a-z]{2,}(?:coin|coins|pay|cash|wallet|bank|base|chain|swap|token|hub|box|soft"
    r"|tech|ify|tube|flix|card|money|fund|trade)$"
)
_NAME_PREFIX = re.compile(
    r"^(?:Mc|Mac|O['’]|D['’]|De|Da|Di|Du|La|Le|Lee|Van|Von|St|Fitz|Ben|Al|Jo|Ja|Ka|Ke|Ra|Ta|Sha"
    r"|Mary|Ann|Rose)"
)
_INNER_CAPITAL = re.compile(r"^[A-Z][a-z]+[A-Z][A-Za-z]*$")
_DIGITS = re.compile(r"\d")
# Names that the suffix test would catch: given names and surnames ending that way.
_SUFFIX_NAMES = frozenset(
    ["eubank", "fairbank", "burbank", "eubanks", "fairbanks", "kash", "rickard", "pickard"]
)  # fmt: skip


def product_shaped(word: str) -> bool:
    bare = word.strip(".,!?'’\"()")
    if not bare or bare.lower() in _SUFFIX_NAMES:
        return False
    if _DIGITS.search(bare):
        return True
    if _INNER_CAPITAL.match(bare) and not _NAME_PREFIX.match(bare):
        return True
    return bool(_PRODUCT_SUFFIX.match(bare))


# "pay with X", "top up via X", "do you accept X", "switch to X": objects that are products.
# Prepositions that also take people ("paid by", "sent to", "received from", "work with") and
# verbs that do ("take", "allow", "except") are left out on purpose.
_BEFORE = re.compile(
    r"(?i)(?:\b(?:pay|paying|paid|pays|payment|payments|top(?:ped|ping)? (?:it )?up|topup"
    r"|deposit(?:ed|ing)?|fund(?:ed|ing)?|withdraw(?:n|ing)?|buy(?:ing)?|bought|purchase[ds]?"
    r"|checkout|check out|send(?:ing)?|sent|link(?:ed|ing)?|sync(?:ed)?|log(?:ged)? ?in"
    r"|sign(?:ed)? ?in|sign(?:ed)? up|register(?:ed)?|convert(?:ed)?|swap(?:ped)?)"
    r"(?: (?:it|them|money|funds|cash|this|that|my \w+))?"
    r" (?:with|via|using|through|thru)(?: (?:my|your|a|an|the|our))?"
    r"|\b(?:accept|accepts|accepting|support|supports|supporting|supported|use|using|uses"
    r"|via|integrat(?:e|es|ed|ion) with|compatible with|switch(?:ed|ing)? to|support for"
    r"|options? like)(?: (?:a|an|the|my|your|our))?)\s+$"
)
_AFTER = re.compile(
    r"(?i)^\s*(?:(?:wallet|wallets|app|apps|application|payment|payments|integration|login"
    r"|network|blockchain|chain|token|tokens|coins|exchange|store|website|site|subscription"
    r"|version|update|price|prices|fee|fees)\b"
    r"|(?:is|was|are|isn't|wasn't|aren't)(?: not)? (?:supported|accepted|allowed|down|broken"
    r"|offline|failing|loading|an option)\b"
    r"|(?:supported|accepted|allowed)\b)"
)


def product_position(text: str, start: int, end: int) -> bool:
    """Whether the word at ``text[start:end]`` sits where products, not people, go."""
    if text[end : end + 2] in ("'s", "’s"):
        return False  # "use Maria's card"
    return bool(_BEFORE.search(text[max(0, start - 60) : start])) or bool(
        _AFTER.match(text[end : end + 40])
    )
