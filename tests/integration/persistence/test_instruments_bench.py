"""Smoke test of bench/instruments: every method runs and loads the same rows."""

from __future__ import annotations

from pathlib import Path

import psycopg

from alphap.embedded import EmbeddedPostgres
from alphap.instrument_master import generate_dump
from bench.instruments import methods
from bench.instruments.run import Measure, table


def test_every_method_loads_the_dump(database_url: str, tmp_path: Path) -> None:
    dump = tmp_path / "dump.csv"
    with dump.open("w", newline="") as out:
        generate_dump(2_000, seed=1, out=out)
    with psycopg.connect(database_url) as conn:
        assert methods.per_row(conn, dump, 100) == 100
        assert methods.batched(conn, dump) == 2_000
        conn.execute("TRUNCATE instruments CASCADE")
        conn.commit()
        assert methods.alphap(conn, dump) == 2_000
        methods.prepare_copy_target(conn)
        methods.psql_copy(EmbeddedPostgres(tmp_path / "unused").binary("psql"), database_url, dump)
        copied = conn.execute("SELECT count(*) FROM copy_limit").fetchone()
        loaded = conn.execute("SELECT count(*) FROM instruments").fetchone()
    assert copied == loaded == (2_000,)


def test_table_gives_ratios_to_the_physical_limit() -> None:
    text = table(
        [
            Measure("first load", "(c) alphap", 1.0, 3),
            Measure("first load", "(d) psql", 0.5, 3),
        ]
    )
    assert "| first load | (c) alphap | 1.00 | 2.00 |" in text
    assert "| first load | (d) psql | 0.50 | 1.00 |" in text
