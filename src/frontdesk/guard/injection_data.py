"""The data the injection models are fitted and measured on, with the groups that keep
near-duplicates in one cross-validation fold.

Messages: deepset/prompt-injections (Apache-2.0; its injections are the ``direct`` kind,
near-duplicates grouped by embedding similarity), the authored corpus
(``guard/injection_corpus.py``, grouped by family) and BIPIA's plain tasks ("What is the
capital of Brazil?"), which are benign as a customer's message. banking77 (CC-BY-4.0) is the
real customer traffic: fitted on, calibrated on and measured on in separate folds.

Documents: BIPIA's clean e-mails, tables and code (MIT) and the support knowledge base
(τ²-bench banking_knowledge, MIT) as clean documents; BIPIA's injected tasks (grouped by
attack category, so a fold's attacks are of categories the model never saw) inserted at the
start, middle or end of a held-out clean document, as BIPIA composes them (on their own
line).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from frontdesk.guard.injection_corpus import authored
from frontdesk.guard.injection_model import SyncEmbedder

#: BIPIA tasks that are ordinary requests on their own (as a customer's message, benign).
PLAIN_TASKS = (
    "Information Retrieval",
    "Content Creation",
    "Learning and Tutoring",
    "Language Translation",
    "Programming Help",
)
NEAR_DUPLICATE = 0.8
"""Cosine similarity above which two deepset texts share a group."""


@dataclass(frozen=True, slots=True)
class Texts:
    texts: list[str]
    kinds: list[str]
    """``direct``, ``hijack`` or ``extraction`` for attacks; ``benign_*`` otherwise."""
    groups: list[str]

    @property
    def labels(self) -> npt.NDArray[np.int64]:
        return np.asarray([0 if k.startswith("benign") else 1 for k in self.kinds])


def _jsonl(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def load_banking(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["text"] for row in csv.DictReader(fh)]


def _near_duplicate_groups(embedder: SyncEmbedder, texts: Sequence[str]) -> list[int]:
    vectors = embedder.embed_sync(list(texts))
    parent = list(range(len(texts)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    rows, cols = np.where(np.triu(vectors @ vectors.T, 1) > NEAR_DUPLICATE)
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        parent[find(i)] = find(j)
    return [find(i) for i in range(len(texts))]


_FAQ_LINE = re.compile(
    r"(?:^|\n)\s*(?:[-*#]+\s*)?(?:Q:\s*)?((?:How|What|Can|Do|Does|Is|Are|Will|Who|Why|When"
    r"|Where|Which|Should|Could|Would)\b[^\n?]{5,200}\?)"
)


def faq_questions(path: Path) -> list[tuple[str, str]]:
    """``(question, document id)``: the customer questions a help centre answers (its FAQ
    lines and question titles, "Can I prepay?", "Why is my payment still pending?"); real
    customer wording about the company and its products, benign as a message."""
    out: dict[str, str] = {}
    for row in _jsonl(path):
        doc = str(row["_id"])
        title = str(row.get("title", "")).strip()
        if title.endswith("?") and ":" not in title:
            out.setdefault(title, doc)
        for m in _FAQ_LINE.finditer(str(row["text"])):
            out.setdefault(m.group(1).strip(), doc)
    return list(out.items())


def message_texts(
    datasets: Path,
    embedder: SyncEmbedder,
    *,
    skip_families: Sequence[str] = (),
    faq: bool = True,
) -> Texts:
    rows = _jsonl(datasets / "prompt_injections" / "train.jsonl")
    texts = [str(r["text"]) for r in rows]
    kinds = ["direct" if int(str(r["label"])) else "benign_deepset" for r in rows]
    groups = [f"deepset-{g}" for g in _near_duplicate_groups(embedder, texts)]
    for a in _jsonl(datasets / "indirect_injections" / "attacks_train.jsonl"):
        if a["category"] in PLAIN_TASKS:
            texts.append(str(a["text"]))
            kinds.append("benign_tasks")
            groups.append(f"bipia-{a['category']}")
    if faq:
        for question, doc in faq_questions(datasets / "support_kb" / "corpus.jsonl"):
            texts.append(question)
            kinds.append("benign_faq")
            groups.append(f"faq-{doc}")
    for e in authored():
        if e.family in skip_families:
            continue
        texts.append(e.text)
        short = e.family.startswith("short_")
        kinds.append(
            e.kind if e.kind != "benign" else "benign_short" if short else "benign_authored"
        )
        # short messages are no template family: each is its own group, so every fold has some
        groups.append(f"authored-{e.family}" + (f"-{len(texts)}" if short else ""))
    return Texts(texts, kinds, groups)


@dataclass(frozen=True, slots=True)
class Attack:
    text: str
    category: str
    code: bool


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    kind: str
    """``email``, ``table``, ``code`` (BIPIA) or ``kb`` (support knowledge base)."""


def load_attacks(datasets: Path) -> list[Attack]:
    rows = _jsonl(datasets / "indirect_injections" / "attacks_train.jsonl")
    return [Attack(str(r["text"]), str(r["category"]), r["kind"] == "code") for r in rows]


def load_documents(datasets: Path) -> list[Document]:
    rows = _jsonl(datasets / "indirect_injections" / "contexts_train.jsonl")
    docs = [Document(str(r["text"]), str(r["kind"])) for r in rows]
    docs += [
        Document(str(r["text"]), "kb") for r in _jsonl(datasets / "support_kb" / "corpus.jsonl")
    ]
    return docs


_SENTENCE_START = re.compile(r"(?<=[.!?])\s+(?=\S)")


def insert(context: str, attack: str, where: str, rng: random.Random) -> str:
    """The attack on its own line at the start, at a sentence start in the middle, or at the
    end of ``context`` (BIPIA's composition)."""
    if where == "start":
        return f"{attack}\n{context}"
    if where == "end":
        return f"{context}\n{attack}"
    starts = [0] + [m.end() for m in _SENTENCE_START.finditer(context)]
    at = rng.choice(starts)
    return f"{context[:at]}\n{attack}\n{context[at:]}"


def group_folds(
    groups: Sequence[str], folds: int, seed: int, *, stable: bool = True
) -> npt.NDArray[np.int64]:
    """A fold per text; all texts of a group share one. ``stable``: a group's fold is a hash
    of its name, so adding or removing a group leaves every other group in its fold (the
    shuffled round-robin it replaces moved all groups whenever one was added, which made
    variants with more data incomparable)."""
    if stable:
        return np.asarray(
            [
                int.from_bytes(hashlib.blake2b(f"{seed}:{g}".encode(), digest_size=8).digest())
                % folds
                for g in groups
            ],
            dtype=np.int64,
        )
    names = sorted(set(groups))
    random.Random(seed).shuffle(names)
    fold_of = {g: i % folds for i, g in enumerate(names)}
    return np.asarray([fold_of[g] for g in groups], dtype=np.int64)
