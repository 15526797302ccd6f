"""Regenerate corpus.jsonl from ../../sample_kb with Frontdesk's own loaders.

Run from the repository root:  python eval/sample_kb/build_corpus.py
Document ids are paths relative to sample_kb/; queries.jsonl and qrels/test.tsv are
hand-written judgements against those ids.
"""

from __future__ import annotations

import json
from pathlib import Path

from frontdesk.knowledge.ingest import discover
from frontdesk.knowledge.loaders import load_file

HERE = Path(__file__).resolve().parent
KB = HERE.parent.parent / "sample_kb"


def main() -> None:
    lines = []
    for item in discover([KB]):
        document = load_file(item.path)
        doc_id = item.path.relative_to(KB).as_posix()
        lines.append(json.dumps({"_id": doc_id, "title": document.title, "text": document.text}))
    (HERE / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
