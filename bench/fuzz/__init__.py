"""Fuzzing benchmark: 10,000 or more generated documents through the real ingress.

    .venv/bin/python -m bench.fuzz                        # 10,000 documents, half of them bad
    .venv/bin/python -m bench.fuzz --count 30000 --seed 7 --write /tmp/fuzz.md

Valid documents, documents with one field broken, and hostile entries (random
bytes, non-UTF-8, deep nesting, oversized payloads, duplicate keys, NaN and
Infinity, huge numbers) from tests/fixtures/fuzz_documents.py go through the
daemon's own tree over an embedded PostgreSQL and Redis (or the servers in
ALPHAP_BENCH_DATABASE_URL / ALPHAP_BENCH_REDIS_URL). It prints the documents,
the dead letters by reason class, the valid documents journaled, the RSS growth
and the rate, beside the parser alone on the same entries (the limit), and exits
non-zero if any promise was broken. Results: docs/RELIABILITY.md "Fuzzing".
"""
