"""Benchmarks and the chaos run (see bench/README.md). Modules starting with "_" are helpers."""
