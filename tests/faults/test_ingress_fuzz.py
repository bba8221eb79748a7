"""Bad input through the real ingress: it never crashes or stalls, and loses nothing.

A few thousand cases from tests/fixtures/fuzz_documents.py (valid documents,
documents with one field broken, random bytes, non-UTF-8, deep nesting,
oversized payloads, duplicate keys, NaN and Infinity, huge numbers) go through
the daemon's own tree over real Redis and PostgreSQL. `python -m bench.fuzz`
runs the same with 10,000 or more and prints the figures (docs/RELIABILITY.md).
"""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.fuzz_documents import generate
from tests.fixtures.ingress_fuzz import run_fuzz

CASES = 1_500
WARMUP = 150
SEED = 20261127
DEADLINE_SECONDS = 120.0
# A leak check, not a measurement: the run holds a few hundred MB of entries at most.
RSS_GROWTH_LIMIT_KB = 256 * 1024
EXPECTED_CLASSES = {
    "not UTF-8", "too large", "nested too deep", "duplicate key", "NaN/Infinity", "not JSON",
    "number too big", "not an object", "missing or unknown type", "missing field", "unknown field",
}  # fmt: skip


def test_every_fuzzed_entry_is_journaled_or_dead_lettered_and_nothing_restarts(
    database_url: str, redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    cases = generate(CASES + WARMUP, seed=SEED)
    report = run_fuzz(
        cases[WARMUP:],
        warmup=cases[:WARMUP],
        database_url=database_url,
        redis_url=redis_server_url,
        prefix=redis_prefix,
        state_dir=tmp_path / "state",
        deadline_seconds=DEADLINE_SECONDS,
    )

    assert report.problems == []
    assert report.valid > CASES // 3 and report.invalid > CASES // 3
    assert report.journaled > 0 and report.dead_letters == sum(not c.valid for c in cases)
    assert set(report.letters_by_class) >= EXPECTED_CLASSES
    assert any(name.startswith("field rule: ") for name in report.letters_by_class)
    assert report.rss_growth_kb < RSS_GROWTH_LIMIT_KB
    assert report.rss_last_round_growth_kb < RSS_GROWTH_LIMIT_KB // 2
