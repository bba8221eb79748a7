"""Benchmarks: the baseline, alphap and the physical limit, side by side."""
