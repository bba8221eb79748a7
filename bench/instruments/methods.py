"""The four ways of loading a dump that the benchmark compares."""

from __future__ import annotations

import csv
import itertools
import subprocess
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg

from persistence.instruments import COLUMNS, load_instruments

Row = tuple[Any, ...]
_INSERT_COLUMNS = ", ".join(COLUMNS)
_SETS = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:])


def parse(path: Path, limit: int | None = None) -> Iterator[Row]:
    """The rows of a dump as Python values, the way the old loader read them."""
    with path.open(newline="") as text:
        reader = csv.reader(text)
        next(reader)
        for r in itertools.islice(reader, limit):
            yield (
                int(r[0]), int(r[1]), r[2], r[3], Decimal(r[4]),
                date.fromisoformat(r[5]) if r[5] else None, Decimal(r[6]), Decimal(r[7]),
                int(r[8]), r[9], r[10], r[11],
            )  # fmt: skip


def per_row(conn: psycopg.Connection[Any], path: Path, sample: int) -> int:
    """(a) The old pattern: SELECT, then INSERT or UPDATE, then COMMIT, for each row."""
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    updates = ", ".join(f"{c} = %s" for c in COLUMNS[1:])
    done = 0
    for row in parse(path, sample):
        found = conn.execute(
            "SELECT 1 FROM instruments WHERE instrument_token = %s", (row[0],)
        ).fetchone()
        if found is None:
            conn.execute(
                f"INSERT INTO instruments ({_INSERT_COLUMNS}) VALUES ({placeholders})",  # noqa: S608 - constants
                row,
            )
        else:
            conn.execute(
                f"UPDATE instruments SET {updates}, updated_at = now()"  # noqa: S608 - constants
                " WHERE instrument_token = %s",
                (*row[1:], row[0]),
            )
        conn.commit()
        done += 1
    return done


def batched(conn: psycopg.Connection[Any], path: Path, batch: int = 1000) -> int:
    """(b) The review's fix: one INSERT ... ON CONFLICT DO UPDATE per 1,000 rows, committed."""
    rows = parse(path)
    done = 0
    while chunk := list(itertools.islice(rows, batch)):
        values = ", ".join(["(" + ", ".join(["%s"] * len(COLUMNS)) + ")"] * len(chunk))
        conn.execute(
            f"INSERT INTO instruments ({_INSERT_COLUMNS}) VALUES {values}"  # noqa: S608 - constants
            f" ON CONFLICT (instrument_token) DO UPDATE SET {_SETS}, updated_at = now()",
            [v for row in chunk for v in row],
        )
        conn.commit()
        done += len(chunk)
    return done


def alphap(conn: psycopg.Connection[Any], path: Path) -> int:
    """(c) alphap's loader, one transaction."""
    result = load_instruments(conn, path)
    conn.commit()
    return result.rows


def prepare_copy_target(conn: psycopg.Connection[Any]) -> None:
    """An empty table shaped like instruments, without any index, for (d)."""
    conn.execute("DROP TABLE IF EXISTS copy_limit")
    conn.execute("CREATE TABLE copy_limit (LIKE instruments INCLUDING DEFAULTS)")
    conn.commit()


def psql_copy(psql: Path, url: str, path: Path) -> None:
    """(d) The physical limit: psql's \\copy into the empty table, no indexes."""
    command = (
        f"\\copy copy_limit ({_INSERT_COLUMNS}) FROM '{path}'"
        " WITH (FORMAT csv, HEADER true, FORCE_NOT_NULL (name))"
    )
    subprocess.run(
        [str(psql), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", command],
        check=True,
        capture_output=True,
    )
