"""Benchmarks: ``python -m bench.run``; results are recorded in bench/RESULTS.md."""
