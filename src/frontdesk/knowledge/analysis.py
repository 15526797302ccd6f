"""Text analysis for lexical search and long queries.

The lexical analyser lower-cases, splits on letters and digits, drops English function words,
stems with Snowball (Porter2, through PyStemmer) and adds the bigram of every two neighbouring
kept stems, so "cash back" also matches as a phrase. Queries are weighted by ``1 + ln(tf)`` of
each term: a long customer description that says "credit card" six times weighs it more than
a word it uses once, without letting it swamp the rest.

A long message (a scenario, a pasted e-mail) is also split into sentence-sized segments that
are embedded one by one (sub-queries), because the embedder reads at most 256 word pieces and
one vector of a 600-word text averages everything it says into nothing in particular.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from frontdesk.text.stopwords import STOPWORDS

if TYPE_CHECKING:
    import Stemmer as _Stemmer

_WORD = re.compile(r"([a-z0-9]+)(?:['’][a-z]+)?")
_SEGMENT_SPLIT = re.compile(r"(?<=[.!?])[\"'”’)\]]*\s+|\n+")
_MARKUP = re.compile(r"[*_#>`|]+")
_ITEM_MARK = re.compile(r"^\s*(?:\d{1,3}[.)]|[-•+])\s+")

BIGRAM_JOINER = "_"

#: Left out of the index and of every query: words that carry no topic in a support question.
INDEX_STOPWORDS: frozenset[str] = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "if",
        "in",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "so",
        "that",
        "the",
        "this",
        "to",
        "was",
        "we",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)
#: A long message (``long_query_words`` or more) also loses these: in a short question
#: "not", "off" or "same" can be the point, in a 600-word scenario they are noise.
LONG_QUERY_STOPWORDS: frozenset[str] = INDEX_STOPWORDS | STOPWORDS
LONG_QUERY_WORDS = 40


class Analyzer:
    """Lower-case words without stopwords, Snowball-stemmed, plus neighbouring bigrams.

    Stems are cached per word (a vocabulary is small; the same words recur), so analysing
    100k chunks costs one regex pass and dictionary look-ups.
    """

    def __init__(
        self,
        *,
        bigrams: bool = True,
        stopwords: frozenset[str] = INDEX_STOPWORDS,
        long_query_stopwords: frozenset[str] = LONG_QUERY_STOPWORDS,
        long_query_words: int = LONG_QUERY_WORDS,
        cache_size: int = 200_000,
    ) -> None:
        self.bigrams = bigrams
        self.stopwords = stopwords
        self.long_query_stopwords = long_query_stopwords
        self.long_query_words = long_query_words
        self._cache: dict[str, str] = {}
        self._cache_size = cache_size

    @cached_property
    def _stemmer(self) -> _Stemmer.Stemmer:
        import Stemmer

        return Stemmer.Stemmer("english")

    def words(self, text: str, stopwords: frozenset[str] | None = None) -> list[str]:
        """Kept words (no stopwords), not stemmed; a possessive/contraction tail is dropped."""
        stop = self.stopwords if stopwords is None else stopwords
        return [w for w in _WORD.findall(text.lower()) if w not in stop]

    def stems(self, words: Sequence[str]) -> list[str]:
        cache = self._cache
        missing = [w for w in set(words) if w not in cache]
        if missing:
            if len(cache) + len(missing) > self._cache_size:
                cache.clear()
            cache.update(zip(missing, self._stemmer.stemWords(missing), strict=True))
        return [cache[w] for w in words]

    def terms(self, text: str, stopwords: frozenset[str] | None = None) -> list[str]:
        """Index terms of ``text`` in order: stems, then the bigrams of neighbouring stems."""
        stems = self.stems(self.words(text, stopwords))
        if not self.bigrams or len(stems) < 2:
            return stems
        return stems + [a + BIGRAM_JOINER + b for a, b in itertools.pairwise(stems)]

    def query_weights(self, text: str) -> dict[str, float]:
        """Query terms weighted ``1 + ln(tf)``."""
        long = len(text.split()) >= self.long_query_words
        counts = Counter(self.terms(text, self.long_query_stopwords if long else None))
        return {term: 1.0 + math.log(n) for term, n in counts.items()}


def segments(text: str, *, min_words: int = 3, max_words: int = 60) -> list[str]:
    """Sentence-sized pieces of a long text: sentences and lines, markup stripped, pieces of
    fewer than ``min_words`` words dropped and longer ones cut at ``max_words``."""
    out: list[str] = []
    for piece in _SEGMENT_SPLIT.split(text):
        piece = _ITEM_MARK.sub("", _MARKUP.sub(" ", piece))
        words = piece.split()
        if len(words) < min_words:
            continue
        for start in range(0, len(words), max_words):
            out.append(" ".join(words[start : start + max_words]))
    return out
