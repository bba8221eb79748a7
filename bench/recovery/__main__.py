"""Time recovering 10,000 portfolios: per actor, bulk warm start, and the bare queries.

    .venv/bin/python -m bench.recovery [--portfolios 10000] [--runs 5] [--conninfo URL]
                                       [--write docs/benchmarks/recovery.md]

Without a conninfo an embedded PostgreSQL is started in a temporary directory.
Each portfolio has a snapshot with 3 positions; the journal holds one older
fill per portfolio (before its snapshot) and 2 fills after it for every fifth
portfolio. Each variant runs until every state is in memory; medians of `--runs`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import psycopg

from actors.documents import OrderFilled
from actors.holdings import HoldingsIndex
from actors.messages import PortfolioKey
from actors.portfolio import PortfolioActor, PortfolioDeps
from actors.portfolio_state import PortfolioState
from actors.recovery import WarmStart
from actors.snapshots import DirtySnapshots
from alphap.embedded import EmbeddedPostgres
from persistence import schema
from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories import events, snapshots
from persistence.repositories.events import Event
from persistence.uow import unit_of_work

FILLED_AT = datetime(2026, 1, 5, 9, 15, tzinfo=UTC)
POOL_SIZE = 10


def _fill(key: PortfolioKey, token: int, side: str, quantity: int, price: str) -> OrderFilled:
    return OrderFilled.model_validate(
        {
            "event_id": uuid4(),
            "broker_namespace": key.broker_namespace,
            "portfolio_id": key.portfolio_id,
            "strategy_id": "S1",
            "instrument_token": token,
            "side": side,
            "quantity": quantity,
            "price": Decimal(price),
            "filled_at": FILLED_AT,
        }
    )


def _journal(pool: Pool, fills: list[OrderFilled]) -> None:
    for start in range(0, len(fills), 1000):
        chunk = [Event(**f.to_journal_record()) for f in fills[start : start + 1000]]
        with unit_of_work(pool) as uow:
            events.append(uow.conn, chunk)


def populate(pool: Pool, conninfo: str, count: int) -> list[PortfolioKey]:
    """Snapshots, older fills and newer fills for `count` portfolios."""
    keys = [PortfolioKey("paper", f"bench-{n:05d}") for n in range(count)]
    _journal(pool, [_fill(key, 1, "BUY", 1, "10") for key in keys])
    with unit_of_work(pool) as uow:
        fenced_at = uow.conn.execute("SELECT max(journal_id) FROM trading_events").fetchone()
    assert fenced_at is not None
    last = int(fenced_at[0])
    states = []
    for n, key in enumerate(keys):
        state = PortfolioState.opened(key)
        for token in (1, 2, 3):
            state = state.applied(_fill(key, token, "BUY", 10 + n % 7, f"{100 + token}.25"), last)
        states.append(state.ticked(2, Decimal("104.5")).to_snapshot())
    with unit_of_work(pool) as uow:
        for start in range(0, len(states), 1000):
            snapshots.upsert_many(uow.conn, states[start : start + 1000])
    _journal(
        pool,
        [
            _fill(key, token, side, 3, "99.5")
            for key in keys[::5]
            for token, side in ((1, "SELL"), (4, "BUY"))
        ],
    )
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE trading_events")
        conn.execute("VACUUM ANALYZE portfolio_snapshots")
    return keys


def _deps(pool: Pool, warm: WarmStart | None = None) -> PortfolioDeps:
    return PortfolioDeps(pool, DirtySnapshots(), HoldingsIndex(), warm)


def per_actor(pool: Pool, keys: list[PortfolioKey], threads: int) -> dict[PortfolioKey, object]:
    """Each actor's own on_start (snapshot query + journal query), `threads` at a time."""
    deps = _deps(pool)

    def start(key: PortfolioKey) -> tuple[PortfolioKey, object]:
        actor = PortfolioActor(key, deps)
        actor.on_start()
        return key, actor.state

    with ThreadPoolExecutor(threads) as executor:
        return dict(executor.map(start, keys))


def bulk(pool: Pool, keys: list[PortfolioKey]) -> dict[PortfolioKey, object]:
    """The bulk warm start (two queries), then each actor's on_start takes its state."""
    deps = _deps(pool, WarmStart.load(pool))
    states: dict[PortfolioKey, object] = {}
    for key in keys:
        actor = PortfolioActor(key, deps)
        actor.on_start()
        assert actor.recovered_from == "warm_start"
        states[key] = actor.state
    return states


def bare_queries(pool: Pool, keys: list[PortfolioKey]) -> dict[PortfolioKey, object]:
    """The physical limit: both queries' rows fetched as tuples, nothing parsed."""
    with unit_of_work(pool) as uow:
        rows = uow.conn.execute(
            "SELECT broker_namespace, portfolio_id, last_journal_id, positions, cash "
            "FROM portfolio_snapshots"
        ).fetchall()
        uow.conn.execute(
            "SELECT e.journal_id, e.event_data FROM unnest(%s::text[], %s::text[], %s::bigint[])"
            " AS k(ns, pid, after) JOIN trading_events e ON e.broker_namespace = k.ns"
            " AND e.portfolio_id = k.pid AND e.journal_id > k.after"
            " WHERE e.event_type = 'order_filled' ORDER BY e.journal_id",
            ([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]),
        ).fetchall()
    return {PortfolioKey(r[0], r[1]): r for r in rows}


def _machine() -> str:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} CPUs, Python {platform.python_version()}"


def run(conninfo: str, count: int, runs: int) -> list[tuple[str, float]]:
    schema.upgrade(conninfo)
    pool = open_pool(PoolConfig(conninfo=conninfo, min_size=POOL_SIZE, max_size=POOL_SIZE))
    try:
        keys = populate(pool, conninfo, count)
        variants: dict[str, Callable[[], dict[PortfolioKey, object]]] = {
            "per-actor on_start, 1 thread (baseline)": lambda: per_actor(pool, keys, 1),
            f"per-actor on_start, {POOL_SIZE} threads": lambda: per_actor(pool, keys, POOL_SIZE),
            "bulk warm start (alphap)": lambda: bulk(pool, keys),
            "two bare queries, no parsing (limit)": lambda: bare_queries(pool, keys),
        }
        results = []
        for name, variant in variants.items():
            timings = []
            for _ in range(runs):
                started = time.perf_counter()
                states = variant()
                timings.append(time.perf_counter() - started)
                assert len(states) == count, (name, len(states))
            results.append((name, statistics.median(timings)))
        return results
    finally:
        pool.close()


def table(results: list[tuple[str, float]], count: int) -> str:
    alphap = dict(results)["bulk warm start (alphap)"]
    lines = [
        f"| variant ({count:,} portfolios) | seconds (median) | portfolios/s | vs alphap |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds in results:
        rate = count / seconds
        lines.append(f"| {name} | {seconds:.3f} | {rate:,.0f} | {seconds / alphap:.2f}x |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery")
    parser.add_argument("--portfolios", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--conninfo")
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    if args.conninfo:
        results = run(args.conninfo, args.portfolios, args.runs)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            server = EmbeddedPostgres(Path(tmp) / "pg", durable=False)
            url = server.start()
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute("CREATE DATABASE bench")
                results = run(url.rsplit("/", 1)[0] + "/bench", args.portfolios, args.runs)
            finally:
                server.stop("immediate")
    text = table(results, args.portfolios)
    print(text)
    if args.write:
        header = (
            f"Machine: {_machine()}. Date: {datetime.now(UTC):%Y-%m-%d}. "
            f"Medians of {args.runs} runs.\n\n"
        )
        args.write.write_text(header + text + "\n")


if __name__ == "__main__":
    main()
