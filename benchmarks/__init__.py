"""Benchmarks (run as scripts: ``.venv/bin/python benchmarks/bench_<name>.py``)."""
