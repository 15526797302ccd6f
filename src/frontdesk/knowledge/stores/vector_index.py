"""In-process vector search for the SQLite store: exact numpy below a threshold, hnswlib above.

The HNSW graph is persisted next to the database (``<db>.kbvec/``) with the collection's
generation; a missing or stale file is rebuilt from the vectors stored in SQLite.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from frontdesk.knowledge.types import Vector

Labels = npt.NDArray[np.int64]


@dataclass
class CollectionVectors:
    generation: int
    labels: Labels
    matrix: Vector | None = None  # exact search
    hnsw: Any = None  # hnswlib.Index

    def search(self, query: Vector, k: int, ef: int) -> tuple[Labels, npt.NDArray[np.float32]]:
        n = len(self.labels) if self.matrix is not None else int(self.hnsw.get_current_count())
        k = min(k, n)
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        if self.matrix is not None:
            scores = self.matrix @ query
            top = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
            top = top[np.argsort(-scores[top])]
            return self.labels[top], scores[top].astype(np.float32)
        self.hnsw.set_ef(max(ef, k))
        labels, distances = self.hnsw.knn_query(query, k=k)
        return labels[0].astype(np.int64), (1.0 - distances[0]).astype(np.float32)


def index_paths(directory: Path, tenant: str, collection: str) -> tuple[Path, Path]:
    key = hashlib.sha256(f"{tenant}\x1f{collection}".encode()).hexdigest()[:24]
    return directory / f"{key}.hnsw", directory / f"{key}.json"


def build_hnsw(labels: Labels, matrix: Vector, *, m: int = 16, ef_construction: int = 200) -> Any:
    import hnswlib

    index = hnswlib.Index(space="ip", dim=int(matrix.shape[1]))
    index.init_index(max_elements=max(len(labels), 1), ef_construction=ef_construction, M=m)
    if len(labels):
        index.add_items(matrix, labels)
    return index


def load_hnsw(directory: Path, tenant: str, collection: str, generation: int, dim: int) -> Any:
    """The persisted index if it matches ``generation``; else None."""
    import hnswlib

    graph, meta = index_paths(directory, tenant, collection)
    if not (graph.is_file() and meta.is_file()):
        return None
    try:
        info = json.loads(meta.read_text())
    except (OSError, ValueError):
        return None
    if info.get("generation") != generation or info.get("dimensions") != dim:
        return None
    index = hnswlib.Index(space="ip", dim=dim)
    index.load_index(str(graph), max_elements=int(info.get("count", 0)) or 1)
    return index


def save_hnsw(
    directory: Path, tenant: str, collection: str, generation: int, index: Any, dim: int
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    graph, meta = index_paths(directory, tenant, collection)
    tmp = graph.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    index.save_index(str(tmp))
    tmp.replace(graph)
    meta_tmp = meta.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    meta_tmp.write_text(
        json.dumps(
            {
                "tenant": tenant,
                "collection": collection,
                "generation": generation,
                "dimensions": dim,
                "count": int(index.get_current_count()),
            }
        )
    )
    meta_tmp.replace(meta)
