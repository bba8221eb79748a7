"""Run the instrument load benchmark and print its table (see bench/instruments/__init__.py)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from alphap.embedded import EmbeddedPostgres
from alphap.instrument_master import generate_dump, generate_reload
from bench.instruments import methods
from bench.servers import migrated_database
from persistence.instruments import load_instruments

_DB = "alphap_bench_instruments"


@dataclass(frozen=True)
class Measure:
    scenario: str
    method: str
    seconds: float
    runs: int
    note: str = ""


@contextlib.contextmanager
def _server(workdir: Path) -> Iterator[tuple[str, Path]]:
    """(URL of a migrated bench database, psql binary)."""
    embedded = EmbeddedPostgres(workdir / "pg", durable=True)
    configured = os.environ.get("ALPHAP_BENCH_DATABASE_URL")
    server = configured or embedded.start()
    try:
        yield migrated_database(server, _DB), embedded.binary("psql")
    finally:
        if not configured:
            embedded.stop()


def _reset(conn: psycopg.Connection[Any], base: Path | None) -> None:
    """Empty instruments, or hold exactly `base`; vacuumed, as a table a day old would be."""
    conn.execute("TRUNCATE instruments CASCADE")
    if base is not None:
        load_instruments(conn, base)
    conn.commit()
    conn.autocommit = True
    conn.execute("VACUUM ANALYZE instruments")
    conn.autocommit = False


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def measure(
    url: str, psql: Path, *, rows: int, repeat: int, sample: int, workdir: Path
) -> list[Measure]:
    dump, reload = workdir / "dump.csv", workdir / "reload.csv"
    with dump.open("w", newline="") as out:
        generate_dump(rows, seed=7, out=out)
    with reload.open("w", newline="") as out:
        generate_reload(rows, seed=7, out=out, changed=0.05, new=0.01)
    sample = min(sample, rows)
    results: list[Measure] = []
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("CHECKPOINT")
    with psycopg.connect(url) as conn:
        for scenario, source, base in (("first load", dump, None), ("reload", reload, dump)):
            times: dict[str, list[float]] = {k: [] for k in ("a", "b", "c", "d")}
            runs: dict[str, Callable[[], object]] = {
                "a": functools.partial(methods.per_row, conn, source, sample),
                "b": functools.partial(methods.batched, conn, source),
                "c": functools.partial(methods.alphap, conn, source),
                "d": functools.partial(methods.psql_copy, psql, url, source),
            }
            for _ in range(repeat):
                for key, run in runs.items():
                    if key == "d":
                        methods.prepare_copy_target(conn)
                    else:
                        _reset(conn, base)
                    times[key].append(_timed(run))
            scale = rows / sample
            results += [
                Measure(scenario, "(a) per row SELECT + INSERT/UPDATE + COMMIT",
                        statistics.median(times["a"]) * scale, repeat,
                        f"{sample:,} rows timed, extrapolated to {rows:,}"),
                Measure(scenario, "(b) batched INSERT ... ON CONFLICT, 1,000 rows a commit",
                        statistics.median(times["b"]), repeat),
                Measure(scenario, "(c) alphap loader (COPY, SQL validation, one merge)",
                        statistics.median(times["c"]), repeat),
                Measure(scenario, "(d) psql \\copy into an empty table, no indexes",
                        statistics.median(times["d"]), repeat),
            ]  # fmt: skip
    return results


def table(results: list[Measure]) -> str:
    limit = {m.scenario: m.seconds for m in results if m.method.startswith("(d)")}
    lines = [
        "| scenario | method | seconds (median) | x psql \\copy |",
        "|---|---|---:|---:|",
    ]
    for m in results:
        note = f" ({m.note})" if m.note else ""
        lines.append(
            f"| {m.scenario} | {m.method}{note} | {m.seconds:.2f} | "
            f"{m.seconds / limit[m.scenario]:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instruments")
    parser.add_argument("--rows", type=int, default=120_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sample", type=int, default=5_000, help="rows timed for (a)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alphap-bench-") as tmp:
        workdir = Path(tmp)
        with _server(workdir) as (url, psql):
            results = measure(
                url, psql, rows=args.rows, repeat=args.repeat, sample=args.sample, workdir=workdir
            )
    print(
        f"{args.rows:,} rows; reload: 5% changed, 1% new; median of {args.repeat} runs; "
        f"{os.cpu_count()} cores, {platform.platform()}; {datetime.now(UTC):%Y-%m-%d}"
    )
    print(table(results))
    return 0
