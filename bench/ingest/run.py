"""Run the ingest benchmark and print its table (see bench/ingest/__init__.py)."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from alphap.daemon import start_dead_letters
from alphap.database import database_pool
from alphap.settings import load_settings
from alphap.trading import trading_parts
from alphap.tree import TradingFactory, TreeContext, build_root
from bench.ingest.baselines import copy_limit, journal_events, old_pattern, parse_ceiling
from bench.servers import bench_servers
from supervision import KeyedSupervisor
from tests.fixtures.stream import DocumentMix, append

_DB = "alphap_bench_ingest"
DEADLINE_SECONDS = 900.0


def _empty_tables(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE trading_events, portfolio_snapshots RESTART IDENTITY")


def alphap_rate(
    url: str,
    redis_url: str,
    documents: list[str],
    workdir: Path,
    trading: TradingFactory = trading_parts,
    **overrides: Any,
) -> Rates:
    """Documents per second until every entry is acknowledged, and until every fill is applied.

    The ingress acknowledges an entry once its effects are durable (journaled,
    their tells queued), so portfolios may still be applying fills then; the
    second figure waits until no portfolio has a message queued.
    """
    _empty_tables(url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    append(client, prefix, documents, chunk=5_000)
    settings = load_settings(
        database_url=url,
        redis_url=redis_url,
        redis_prefix=prefix,
        state_dir=workdir / "state",
        **overrides,
    )
    stopping = threading.Event()
    with database_pool(settings, url) as pool:
        letters = start_dead_letters(settings, redis_url)
        root = build_root(
            TreeContext(
                settings=settings,
                pool=pool,
                redis_url=redis_url,
                letters=letters,
                stopping=stopping,
                on_escalation=lambda error: stopping.set(),
                version="bench",
            ),
            trading,
        )
        start = time.perf_counter()
        root.start()
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not _drained(client, prefix):
            if time.monotonic() > deadline or stopping.is_set():
                raise RuntimeError("the ingress did not drain the stream")
            time.sleep(0.01)
        acknowledged = time.perf_counter() - start
        portfolios = root.subtree("portfolios")
        assert isinstance(portfolios, KeyedSupervisor)
        while portfolios.backlog():
            if time.monotonic() > deadline:
                raise RuntimeError("the portfolios did not apply what was journaled")
            time.sleep(0.01)
        applied = time.perf_counter() - start
        stopping.set()
        root.stop()
        letters.stop()
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        client.delete(key)
    client.close()
    return Rates(len(documents) / acknowledged, len(documents) / applied)


@dataclass(frozen=True)
class Rates:
    """Documents per second of one alphap run."""

    acknowledged: float
    applied: float

    def __str__(self) -> str:
        return f"{self.acknowledged:,.0f} documents/s acknowledged, {self.applied:,.0f} applied"


def _drained(client: redis.Redis, prefix: str) -> bool:
    for group in client.xinfo_groups(f"{prefix}:ingress"):
        return group.get("lag") == 0 and group["pending"] == 0
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest")
    parser.add_argument("--count", type=int, default=200_000, help="documents in the stream")
    parser.add_argument("--portfolios", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per method (median)")
    parser.add_argument("--sample", type=int, default=2_000, help="events for the old pattern")
    parser.add_argument(
        "--tick-share", type=float, default=0.1, help="share of market ticks among the documents"
    )
    parser.add_argument("--write", type=Path, help="also write the table (markdown) here")
    args = parser.parse_args(argv)
    mix = DocumentMix(seed=7, portfolios=args.portfolios, instruments=tuple(range(1000, 1100)))
    documents = mix.build(
        args.count,
        tick_share=args.tick_share,
        event_share=0.05,
        invalid_share=0.0,
        duplicate_share=0.0,
    )
    events = journal_events(documents)
    with tempfile.TemporaryDirectory() as tmp, bench_servers(Path(tmp), _DB) as (url, redis_url):
        old = [old_pattern(url, events, args.sample)[0] for _ in range(args.repeat)]
        limit = [copy_limit(url, events) for _ in range(args.repeat)]
        ceiling = [parse_ceiling(documents) for _ in range(args.repeat)]
        ours: list[Rates] = []
        for run in range(args.repeat):
            ours.append(alphap_rate(url, redis_url, documents, Path(tmp)))
            # Shown as it comes: a long run's repeats are worth seeing before the table.
            print(f"alphap run {run + 1}: {ours[-1]}", file=sys.stderr, flush=True)
    # Rates in journaled events per second, so the rows compare like with like.
    share = len(events) / len(documents)
    ours_name = "alphap end to end: every entry acknowledged (durable)"
    rows = [
        ("(a) old pattern: INSERT + COMMIT per event (sampled, extrapolated)", old),
        (ours_name, [r.acknowledged * share for r in ours]),
        ("alphap: every fill also applied by its portfolio", [r.applied * share for r in ours]),
        ("(b) limit: binary COPY, 5,000 per transaction", limit),
        ("(c) ceiling: parsing and routing alone, one thread, no I/O", ceiling),
    ]
    medians = {name: statistics.median(values) for name, values in rows}
    ours_rate = medians[ours_name]
    copy_rate = medians[rows[3][0]]
    lines = [
        f"{args.count:,} documents ({len(events):,} journaled events, {args.portfolios:,} "
        f"portfolios), {args.repeat} run(s) each, median events/s",
        "",
        "| method | events/s | alphap acknowledged vs it |",
        "|---|---:|---:|",
    ]
    for name, _ in rows:
        lines.append(f"| {name} | {medians[name]:,.0f} | {ours_rate / medians[name]:.2f}x |")
    lines += [
        "",
        f"alphap: {ours_rate / copy_rate:.0%} of the COPY limit acknowledged, "
        f"{medians[rows[2][0]] / copy_rate:.0%} applied; "
        f"{ours_rate / medians[rows[0][0]]:.1f}x the old pattern; parsing alone reaches "
        f"{medians[rows[4][0]] / copy_rate:.0%} of the COPY limit; "
        f"{statistics.median(r.acknowledged for r in ours):,.0f} documents/s end to end.",
        f"Machine: {os.cpu_count()} cores, {platform.platform()}, "
        f"{datetime.now(UTC):%Y-%m-%d}. Command: python -m bench.ingest "
        f"--count {args.count} --repeat {args.repeat} --tick-share {args.tick_share}.",
    ]
    table = "\n".join(lines)
    print(table)
    if args.write is not None:
        args.write.write_text(table + "\n")
    return 0
