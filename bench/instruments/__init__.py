"""Instrument master load: per-row upserts, batched upserts, alphap's loader, psql \\copy.

    .venv/bin/python -m bench.instruments [--rows 120000] [--repeat 3]

Uses an embedded, durable PostgreSQL in a temporary directory unless
ALPHAP_BENCH_DATABASE_URL names a server (a database is created on it).
"""
