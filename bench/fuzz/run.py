"""Run the fuzzing benchmark and print its figures (see bench/fuzz/__init__.py)."""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from actors.documents import parse_document
from actors.errors import InvalidDocumentError
from alphap.logs import configure_logging
from bench.servers import bench_servers
from tests.fixtures.fuzz_documents import FuzzCase, generate
from tests.fixtures.ingress_fuzz import FuzzReport, run_fuzz

_DB = "alphap_bench_fuzz"


def _parse_rate(cases: list[FuzzCase]) -> float:
    """Entries per second through parse_document alone: the limit of any ingress."""
    started = time.perf_counter()
    for case in cases:
        with contextlib.suppress(InvalidDocumentError):
            parse_document(case.raw)
    return len(cases) / (time.perf_counter() - started)


def _table(
    report: FuzzReport, cases: list[FuzzCase], rates: tuple[float, float], generated: float
) -> str:
    """The figures as markdown; `rates` are the parser alone's and the valid-only run's."""
    parse_rate, valid_rate = rates
    kinds = Counter(case.kind.split(":")[0] for case in cases)
    lines = [
        f"{report.documents:,} documents after a warm-up: {kinds['valid']:,} valid, "
        f"{kinds['broken']:,} with one field broken, {kinds['hostile']:,} hostile "
        f"({sum(len(c.raw) for c in cases) / 1e6:,.1f} MB; drawn in {generated:.0f} s)",
        "",
        "| figure | value |",
        "|---|---:|",
        f"| valid documents journaled (fills and trading events) | {report.journaled:,} |",
        f"| dead letters (every one with a reason and its entry id) | {report.dead_letters:,} |",
        f"| promises broken (lost, duplicated, misrouted, restarts, stalls) "
        f"| {len(report.problems)} |",
        f"| RSS after warm-up | {report.rss_warm_kb / 1024:,.0f} MB |",
        f"| RSS growth, all {len(report.rss_rounds_kb)} rounds (after gc) "
        f"| {report.rss_growth_kb / 1024:+,.1f} MB |",
        f"| RSS growth, last round alone (a leak would repeat it) "
        f"| {report.rss_last_round_growth_kb / 1024:+,.1f} MB |",
        f"| RSS growth at the peak | {report.rss_peak_growth_kb / 1024:+,.1f} MB |",
        f"| rate, appended to all acknowledged | {report.rate:,.0f} documents/s |",
        f"| same, valid documents alone (the same tree, no bad input) "
        f"| {valid_rate:,.0f} documents/s |",
        f"| limit: parse_document alone, same entries | {parse_rate:,.0f} documents/s |",
        "",
        "| dead letters by reason class | count |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {count:,} |" for name, count in report.letters_by_class.most_common()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fuzz")
    parser.add_argument("--count", type=int, default=10_000, help="documents after the warm-up")
    parser.add_argument("--warmup", type=int, default=500, help="documents before measuring")
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--valid-share", type=float, default=0.5)
    parser.add_argument("--deadline", type=float, default=600.0, help="seconds to drain")
    parser.add_argument("--rounds", type=int, default=4, help="parts, RSS read after each")
    parser.add_argument("--write", type=Path, help="also write the figures (markdown) here")
    args = parser.parse_args(argv)
    configure_logging("WARNING")
    started = time.perf_counter()
    cases = generate(args.warmup + args.count, seed=args.seed, valid_share=args.valid_share)
    generated = time.perf_counter() - started
    warmup, measured = cases[: args.warmup], cases[args.warmup :]
    parse_rate = _parse_rate(measured)
    with tempfile.TemporaryDirectory() as tmp, bench_servers(Path(tmp), _DB) as (url, redis_url):
        report = run_fuzz(
            measured,
            warmup=warmup,
            database_url=url,
            redis_url=redis_url,
            prefix=f"fuzz-{args.seed}",
            state_dir=Path(tmp) / "state",
            deadline_seconds=args.deadline,
            rounds=args.rounds,
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("TRUNCATE trading_events, portfolio_snapshots RESTART IDENTITY")
        baseline = run_fuzz(
            [case for case in measured if case.valid],
            warmup=[case for case in warmup if case.valid],
            database_url=url,
            redis_url=redis_url,
            prefix=f"fuzz-{args.seed}-valid",
            state_dir=Path(tmp) / "state-valid",
            deadline_seconds=args.deadline,
            rounds=1,
        )
    table = "\n".join(
        [
            _table(report, measured, (parse_rate, baseline.rate), generated),
            "",
            f"Machine: {os.cpu_count()} cores, {platform.platform()}, "
            f"{datetime.now(UTC):%Y-%m-%d}. Command: python -m bench.fuzz --count {args.count} "
            f"--seed {args.seed}.",
        ]
    )
    print(table)
    problems = report.problems + [f"valid-only run: {p}" for p in baseline.problems]
    for problem in problems[:50]:
        print(f"PROBLEM: {problem}")
    if args.write is not None:
        args.write.write_text(table + "\n")
    return 1 if problems else 0
