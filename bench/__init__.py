"""Trunkline HTTP benchmarks: the API against a minimal FastAPI baseline (see bench/README.md).

``python -m bench`` (or ``make bench``) runs everything; nothing here runs under ``make test``
except the tiny smoke run in tests/bench.
"""
