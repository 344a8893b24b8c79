"""Benchmarks: routing quality on public intent sets (quality) and the router under load."""
