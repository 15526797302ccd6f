"""Build the labelled groundedness set (set.jsonl) from sample_kb/. Deterministic.

Run from the repository root:  .venv/bin/python eval/groundedness/build_set.py

Faithful answer sentences: every informative sentence of every document (verbatim) and
the hand-written paraphrases in paraphrases.yaml. Perturbed sentences: the rule-based
perturbations below applied to each faithful sentence (negated, number, unit, plan_swap,
condition_changed, condition_dropped, invented) plus the hand-written ones in
perturbed.yaml. Each item is judged against the chunk its sentence comes from, the chunks
before and after it in the document, and the most similar chunk of another document, in a
seeded order; the answer cites the right chunk as [n]. Documents are split into a ``dev``
half (to tune on) and a ``test`` half (to report), alternately in path order.
"""

from __future__ import annotations

import json
import random
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from frontdesk.guard.alignment import segment
from frontdesk.guard.claims import clean, content_stems
from frontdesk.knowledge.chunking import ChunkingOptions, chunk_document
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import discover
from frontdesk.knowledge.loaders import load_file

HERE = Path(__file__).resolve().parent
KB = HERE.parent.parent / "sample_kb"
OUT = HERE / "set.jsonl"


@dataclass(frozen=True)
class Doc:
    doc_id: str
    chunks: list[str]
    split: str


def load_docs() -> list[Doc]:
    counter = LocalEmbedder.load()
    items = sorted(discover([KB]), key=lambda i: i.path.relative_to(KB).as_posix())
    docs = []
    for n, item in enumerate(items):
        document = load_file(item.path)
        drafts = chunk_document(document, counter, ChunkingOptions())
        doc_id = item.path.relative_to(KB).as_posix()
        docs.append(Doc(doc_id, [d.text for d in drafts], "dev" if n % 2 == 0 else "test"))
    return docs


# --- faithful sentences --------------------------------------------------------------

_SKIP_LINE = re.compile(r"^\s*(?:\||```|Q:|CREATE|GRANT|curl|#)")
_LEAD = re.compile(r"^\s*(?:[-*]\s+|\d+[.)]\s+|A:\s+)")


def verbatim_sentences(chunk: str) -> list[str]:
    out = []
    for a, b in segment(chunk):
        text = chunk[a:b]
        if _SKIP_LINE.match(text):
            continue
        text = _LEAD.sub("", clean(text)).strip()
        if len(text.split()) >= 6 and len(content_stems(text)) >= 4 and text[-1] in ".)":
            out.append(text)
    return out


# --- rule-based perturbations ---------------------------------------------------------

_NEG_REMOVE: tuple[tuple[str, str], ...] = (
    (r"\bcannot\b", "can"),
    (r"\bwon't\b", "will"),
    (r"\b(do|does|is|are|was|were|can|must|should|did|has|have)n't\b", r"\1"),
    (r"\b(is|are|was|were|do|does|did|can|will|must|has|have|should) not\b", r"\1"),
    (r"\bnever\b", "always"),
    (r"\bnon-(\w+)", r"\1"),
    (r"^No (\w)", r"A \1"),
    (r"\bno\b", "some"),
)
_AUX = re.compile(r"\b(is|are|was|were|can|will|must|should|has|have)\b")


def negate(s: str) -> str | None:
    for pattern, repl in _NEG_REMOVE:
        new = re.sub(pattern, repl, s, count=1)
        if new != s:
            return new
    m = _AUX.search(s)
    if not m:
        return None
    word = m.group(1)
    return s[: m.start()] + ("cannot" if word == "can" else f"{word} not") + s[m.end() :]


_NUMBER = re.compile(r"(?<![\w.,:/-])\d+(?:,\d{3})*(?:\.\d+)?(?![\w:/]|\.\d)")


def change_number(s: str) -> str | None:
    m = _NUMBER.search(s)
    if not m:
        return None
    raw = m.group(0)
    value = float(raw.replace(",", ""))
    if "." in raw:
        decimals = len(raw.split(".")[1])
        new = f"{value + 1:.{decimals}f}" if value < 90 else f"{value - 0.4:.{decimals}f}"
    else:
        v = int(value)
        n = v * 2 if v <= 10 else round(v * 1.5)
        new = f"{n:,}" if "," in raw else str(n)
    return s[: m.start()] + new + s[m.end() :]


_UNITS = (
    ("business days", "weeks"),
    ("business day", "week"),
    ("days", "weeks"),
    ("day", "week"),
    ("minutes", "hours"),
    ("minute", "hour"),
    ("hours", "days"),
    ("hour", "day"),
    ("seconds", "minutes"),
    ("months", "years"),
    ("month", "year"),
    ("years", "months"),
    ("year", "month"),
    ("weeks", "months"),
    ("MB", "GB"),
    ("GB", "TB"),
)
_NUMWORD = r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|ten|ninety|thirty)"


def change_unit(s: str) -> str | None:
    for unit, other in _UNITS:
        m = re.search(rf"({_NUMWORD}[\s-])({unit})\b", s)
        if m:
            return s[: m.start(2)] + other + s[m.end(2) :]
    m = re.search(r"\$(\d)", s)
    if m:
        return s[: m.start()] + "€" + s[m.start() + 1 :]
    m = re.search(r"\bper (month|year)\b", s)
    if m:
        swap = "year" if m.group(1) == "month" else "month"
        return s[: m.start(1)] + swap + s[m.end(1) :]
    return None


_SWAPS = (
    ("Starter", "Growth"),
    ("Growth", "Enterprise"),
    ("Enterprise", "Starter"),
    ("Snowflake", "BigQuery"),
    ("BigQuery", "Snowflake"),
    ("Salesforce", "HubSpot"),
    ("HubSpot", "Salesforce"),
    ("Slack", "PagerDuty"),
    ("PagerDuty", "Slack"),
    ("PostgreSQL", "MySQL"),
    ("owners", "editors"),
    ("owner", "admin"),
    ("admins", "viewers"),
)


def swap_plan(s: str) -> str | None:
    for name, other in _SWAPS:
        if re.search(rf"\b{name}\b", s) and not re.search(rf"\b{other}\b", s, re.IGNORECASE):
            return re.sub(rf"\b{name}\b", other, s, count=1)
    return None


_CHANGES = (
    ("within", "after"),
    ("after", "within"),
    ("before", "after"),
    ("until", "after"),
    ("at least", "at most"),
    ("at most", "at least"),
    ("up to", "at least"),
    ("unless", "when"),
    ("except when", "especially when"),
    ("more than", "less than"),
    ("fewer than", "more than"),
    ("only", "also"),
    ("immediately", "at the end of the billing period"),
)


def change_condition(s: str) -> str | None:
    for cue, other in _CHANGES:
        m = re.search(rf"(?<![\w-]){cue}\b", s, re.IGNORECASE)
        if m:
            new = other.capitalize() if s[m.start()].isupper() else other
            return s[: m.start()] + new + s[m.end() :]
    return None


_DROP = re.compile(r",?\s*\b(?:within|unless|except|until|after|before)\b[^,.;]*", re.IGNORECASE)


def drop_condition(s: str) -> str | None:
    m = _DROP.search(s)
    if not m or m.start() == 0:
        new = re.sub(r"(?<![\w-])only\s+", "", s, count=1, flags=re.IGNORECASE)
        return new[0].upper() + new[1:] if new != s else None
    new = s[: m.start()] + s[m.end() :]
    return new if len(new.split()) >= 4 else None


_PRODUCTS = (
    "Snowflake",
    "BigQuery",
    "Salesforce",
    "HubSpot",
    "Slack",
    "PagerDuty",
    "Opsgenie",
    "PostgreSQL",
    "MySQL",
    "Okta",
    "Zendesk",
    "Stripe",
    "Google Sheets",
    "Visa",
    "Supabase",
    "Aurora",
)
_INVENTED = ("Microsoft Dynamics 365", "Zapier", "Oracle NetSuite", "Microsoft Teams", "Kafka")


def invent(s: str) -> str | None:
    for name in _PRODUCTS:
        if re.search(rf"\b{name}\b", s):
            other = _INVENTED[zlib.crc32(s.encode()) % len(_INVENTED)]
            return re.sub(rf"\b{name}\b", other, s, count=1)
    return None


PERTURBATIONS: tuple[tuple[str, Callable[[str], str | None]], ...] = (
    ("negated", negate),
    ("number", change_number),
    ("unit", change_unit),
    ("plan_swap", swap_plan),
    ("condition_changed", change_condition),
    ("condition_dropped", drop_condition),
    ("invented", invent),
)


# --- items ---------------------------------------------------------------------------


def judged_sources(docs: list[Doc], doc: Doc, chunk: int, seed: str) -> tuple[list[str], int]:
    """The chunk, its neighbours and the closest chunk of another document, shuffled."""
    picked = [doc.chunks[i] for i in (chunk - 1, chunk, chunk + 1) if 0 <= i < len(doc.chunks)]
    target = content_stems(doc.chunks[chunk])
    others = [(c, content_stems(c)) for d in docs if d is not doc for c in d.chunks]
    best = max(others, key=lambda o: len(o[1] & target) / (1 + len(o[1] | target)))
    picked.append(best[0])
    random.Random(zlib.crc32(seed.encode())).shuffle(picked)
    return picked, picked.index(doc.chunks[chunk]) + 1


def find_chunk(doc: Doc, anchor: str) -> int:
    for i, text in enumerate(doc.chunks):
        if anchor in text or anchor in clean(text):
            return i
    raise SystemExit(f"anchor not found in {doc.doc_id}: {anchor!r}")


def main() -> None:
    docs = load_docs()
    by_id = {d.doc_id: d for d in docs}
    items: list[dict[str, object]] = []

    def add(doc: Doc, chunk: int, text: str, label: str, kind: str, origin: str, base: str) -> None:
        item_id = f"{doc.doc_id}#{len(items)}"
        sources, cite = judged_sources(docs, doc, chunk, item_id)
        items.append(
            {
                "id": item_id,
                "split": doc.split,
                "doc": doc.doc_id,
                "answer": f"{text} [{cite}]",
                "sources": sources,
                "label": label,
                "kind": kind,
                "origin": origin,
                "base": base,
            }
        )

    bases: list[tuple[Doc, int, str, str]] = []
    for doc in docs:
        for i, text in enumerate(doc.chunks):
            for sentence in verbatim_sentences(text):
                bases.append((doc, i, sentence, "verbatim"))
    for entry in yaml.safe_load((HERE / "paraphrases.yaml").read_text(encoding="utf-8")):
        doc = by_id[entry["doc"]]
        bases.append((doc, find_chunk(doc, entry["anchor"]), entry["text"], "paraphrase"))
    for doc, chunk, text, kind in bases:
        add(doc, chunk, text, "faithful", kind, "script" if kind == "verbatim" else "hand", text)
        for name, perturb in PERTURBATIONS:
            new = perturb(text)
            if new is not None and new != text:
                add(doc, chunk, new, "perturbed", name, "script", text)
    for entry in yaml.safe_load((HERE / "perturbed.yaml").read_text(encoding="utf-8")):
        doc = by_id[entry["doc"]]
        chunk = find_chunk(doc, entry["anchor"])
        add(doc, chunk, entry["text"], "perturbed", entry["kind"], "hand", "")
    OUT.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items) + "\n", "utf-8")
    counts: dict[tuple[str, str], int] = {}
    for item in items:
        key = (str(item["split"]), str(item["label"]))
        counts[key] = counts.get(key, 0) + 1
    print(
        f"{len(items)} items -> {OUT.relative_to(HERE.parent.parent)}", dict(sorted(counts.items()))
    )


if __name__ == "__main__":
    main()
