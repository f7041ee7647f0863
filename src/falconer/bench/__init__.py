"""Benchmarks: measured quality, cost and speed on the real benchmark data."""
