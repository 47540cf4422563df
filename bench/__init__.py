"""Benchmarks: full training runs on real data; results land in bench/results/*.json and BENCHMARKS.md."""
