"""The words a knowledge base uses, to tell a near miss from a paraphrase.

A customer who asks about "crypto", "FedRAMP" or "the Team plan" asks about something the
documents never mention, however close the nearest passage scores. :class:`Lexicon` holds
what the whole collection writes (not only the passages retrieved for one question):

* every word, with its inflections folded ("warehouses" = "warehouse", "replies" = "reply")
  and hyphenated compounds joined ("sub-processors" = "subprocessors");
* the names it writes capitalised inside a sentence ("US region", "Growth plan"), case
  kept, so "Plus" in "Enterprise Plus" is not "plus" in "plus tax";
* the initials of its multi-word names ("Data Processing Agreement" → "DPA");
* for each noun that heads two or more capitalised names ("Starter plan", "Growth plan"),
  the words seen before it, so an unknown "Team plan" is noticed even though "team" is a
  word the documents use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from frontdesk.text.stopwords import STOPWORDS

_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’][a-z]+)?")
_COMPOUND = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)+")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*(?:[-*•>|]|\d+[.)])?\s*|\|\s*)$")
_CAPITALISED_RUN = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:\s+[A-Z][A-Za-z0-9]*){1,4}\b")
_HEADING = re.compile(r"^\s*#{1,6}\s")
_SMALL = frozenset(["of", "and", "the", "for", "to", "in", "on", "a", "an"])
_STOP = STOPWORDS


def word_forms(word: str) -> set[str]:
    """The word in lower case and the base forms it may be an inflection of."""
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    out = {w}
    if len(w) > 3:
        if w.endswith("ies"):
            out.add(w[:-3] + "y")
        if w.endswith("es"):
            out.add(w[:-2])
        if w.endswith("s") and not w.endswith("ss"):
            out.add(w[:-1])
        if w.endswith("ing") and len(w) > 5:
            out |= {w[:-3], w[:-3] + "e"}
            if len(w) > 6 and w[-4] == w[-5]:
                out.add(w[:-4])  # "running" -> "run"
        if w.endswith("ed") and len(w) > 4:
            out |= {w[:-2], w[:-1]}
            if w.endswith("ied"):
                out.add(w[:-3] + "y")
        if w.endswith("ly") and len(w) > 5:
            out.add(w[:-2])
    return out


@dataclass(frozen=True, slots=True)
class Lexicon:
    words: frozenset[str]
    """Every word form the documents use, lower case."""
    names: frozenset[str]
    """Words written capitalised inside a sentence (case kept)."""
    acronyms: frozenset[str]
    """Initials of capitalised multi-word names, lower case."""
    modifiers: dict[str, frozenset[str]]
    """For nouns heading two or more capitalised names: the words seen right before them."""
    instances: dict[str, frozenset[str]] = field(default_factory=dict)
    """For the same nouns: the capitalised names they head ("plan": Starter, Growth, …)."""

    @classmethod
    def build(cls, texts: Iterable[str]) -> Lexicon:
        words: set[str] = set()
        names: set[str] = set()
        acronyms: set[str] = set()
        before: defaultdict[str, set[str]] = defaultdict(set)
        capital_before: defaultdict[str, set[str]] = defaultdict(set)
        for text in texts:
            for line in text.splitlines():
                body = not _HEADING.match(line)
                _read_line(line, body, words, names, before, capital_before)
                for run in _CAPITALISED_RUN.finditer(line):
                    parts = [p for p in run.group(0).split() if p.lower() not in _SMALL]
                    initials = "".join(p[0] for p in parts).lower()
                    for a in range(len(initials) - 1):  # "Our Data Processing Agreement"
                        for b in range(a + 2, len(initials) + 1):
                            acronyms.add(initials[a:b])
        named = {h: caps for h, caps in capital_before.items() if len(caps) >= 2}
        heads = {h: frozenset(before[h]) for h in named}
        instances = {h: frozenset(caps) for h, caps in named.items()}
        return cls(frozenset(words), frozenset(names), frozenset(acronyms), heads, instances)

    def knows(self, word: str) -> bool:
        """Whether the documents use the word, in any inflection (or as the initials of a
        name they spell out)."""
        return bool(word_forms(word) & self.words) or word.lower() in self.acronyms

    def knows_name(self, word: str) -> bool:
        """Whether the documents write this capitalised word inside a sentence."""
        return word in self.names or (word.isupper() and word.lower() in self.acronyms)

    def is_head(self, noun: str) -> bool:
        return any(f in self.modifiers for f in word_forms(noun))

    def other_instance(self, question: str, answer: str) -> str | None:
        """The name the question asks about ("Growth") when the answer speaks only of other
        names of the same kind ("Enterprise"), else None."""
        for names in self.instances.values():
            asked = [n for n in sorted(names) if _names(n, question)]
            said = [n for n in sorted(names) if _names(n, answer)]
            if asked and said and not set(asked) & set(said):
                return asked[0]
        return None

    def knows_pair(self, modifier: str, noun: str) -> bool:
        """Whether the documents write ``modifier noun`` ("Growth plan")."""
        mod = modifier.lower()
        return any(mod in self.modifiers.get(f, frozenset()) for f in word_forms(noun))


def _names(name: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def _read_line(
    line: str,
    body: bool,
    words: set[str],
    names: set[str],
    before: defaultdict[str, set[str]],
    capital_before: defaultdict[str, set[str]],
) -> None:
    for match in _COMPOUND.finditer(line):
        compound = match.group(0).lower()
        words |= {compound, compound.replace("-", "")} | word_forms(compound.replace("-", ""))
    previous: re.Match[str] | None = None
    for match in _TOKEN.finditer(line):
        token = match.group(0)
        words |= word_forms(token)
        starts_sentence = bool(_SENTENCE_START.search(line[: match.start()]))
        if body and token[0].isupper() and not starts_sentence:
            names.add(token)
        if previous is not None and line[previous.end() : match.start()].strip() == "":
            prev = previous.group(0)
            prev_starts = bool(_SENTENCE_START.search(line[: previous.start()]))
            capital = body and prev[0].isupper() and token.islower() and not prev_starts
            for head in word_forms(token) - _STOP:
                before[head].add(prev.lower())
                if capital:
                    capital_before[head].add(prev)
        previous = match
