"""Repositories: set-based SQL over a caller's connection; they never commit."""
