"""Run the benchmarks one after the other with the settings used for BENCHMARKS.md.

    .venv/bin/python -m benchmarks [gateway] [ingest] [retrieval] [guard] [groundedness]

With no names, all of them run (about 10 minutes on 2 CPUs). Each is a plain script;
see its ``--help`` for the knobs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
RUNS: dict[str, list[str]] = {
    "gateway": ["bench_gateway.py", "--write", str(HERE.parent / "BENCHMARKS.md")],
    "ingest": ["bench_ingest.py", "--copies", "8"],
    "retrieval": ["bench_retrieval.py", "--sizes", "10000", "100000", "--queries", "300"],
    "guard": ["bench_guard.py", "--quick"],
    "groundedness": ["groundedness.py"],
}


def main(argv: list[str]) -> int:
    names = argv or list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(RUNS)}")
        return 2
    failed = 0
    for name in names:
        script, *args = RUNS[name]
        print(f"== {name}: {script} {' '.join(args)}", flush=True)
        failed += subprocess.run([sys.executable, str(HERE / script), *args]).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
