"""Reproducible performance benchmarks for carrier-sim: `python -m benchmarks run` (see README.md)."""
