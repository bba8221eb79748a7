"""The dump copied into temporary staging tables.

Fast path: the bytes go to COPY ... (FORMAT csv) untouched into a typed stage,
so PostgreSQL parses the CSV and the numbers. The stage has no key (building one
costs more than the check for duplicate tokens that replaces it, validate.py, or
the primary key of instruments on a first load). Any error there sends the load to the slow path,
which exists to report: Python's csv module reads the dump, notes every
malformed record with its physical line, and copies the well-formed ones with
their line numbers into a stage of TEXT columns, validated in SQL
(validate.py); the valid rows are then typed into the same typed stage.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from typing import Any

import psycopg

from persistence.instruments.errors import InstrumentDumpError, InvalidRow
from persistence.instruments.source import CHUNK, COLUMNS, DumpBytes

STAGE = "instrument_stage"
TEXT_STAGE = "instrument_text_stage"
Progress = Callable[[int], None]

_COLUMN_LIST = ", ".join(COLUMNS)
_TYPES = {
    "instrument_token": "bigint",
    "exchange_token": "bigint",
    "last_price": "numeric",
    "strike": "numeric",
    "tick_size": "numeric",
    "lot_size": "integer",
}
_TEXT_COLUMNS = ", ".join(c for c in COLUMNS if c not in _TYPES)
# A NOT NULL typed column rejects an empty field; text ones take it as ''.
_CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE {STAGE} ("
    + ", ".join(f"{c} {_TYPES.get(c, 'text')} NOT NULL" for c in COLUMNS)
    + ")"
)
_CREATE_TEXT_STAGE = (
    f"CREATE TEMPORARY TABLE {TEXT_STAGE} ("
    " ordinal bigint GENERATED ALWAYS AS IDENTITY, line bigint NOT NULL, "
    + ", ".join(f"{c} text NOT NULL" for c in COLUMNS)
    + ")"
)
_TYPE_TEXT_STAGE = (
    f"INSERT INTO {STAGE} ({_COLUMN_LIST}) SELECT "  # noqa: S608 - constant identifiers only
    + ", ".join(f"{c}::{_TYPES[c]}" if c in _TYPES else c for c in COLUMNS)
    + f" FROM {TEXT_STAGE}"
)


def create_stage(conn: psycopg.Connection[Any]) -> None:
    """The typed staging table; temporary, so it writes no WAL and no one else sees it."""
    conn.execute(_CREATE_STAGE)


def copy_fast(conn: psycopg.Connection[Any], dump: DumpBytes, progress: Progress | None) -> int:
    """COPY the dump's data lines in CSV format into the typed stage; returns the row count."""
    sent = 0
    with conn.cursor() as cur:
        with cur.copy(
            f"COPY {STAGE} ({_COLUMN_LIST}) FROM STDIN"
            f" (FORMAT csv, FORCE_NOT_NULL ({_TEXT_COLUMNS}))"
        ) as copy:
            for chunk in dump.data_chunks():
                copy.write(chunk)
                sent += len(chunk)
                if progress is not None:
                    progress(sent)
        return cur.rowcount


def copy_slow(conn: psycopg.Connection[Any], dump: DumpBytes) -> tuple[int, list[InvalidRow]]:
    """Parse the dump in Python into the TEXT stage; returns (rows staged, malformed records)."""
    conn.execute(_CREATE_TEXT_STAGE)
    malformed: list[InvalidRow] = []
    rows = 0
    with (
        io.TextIOWrapper(dump.replay(), encoding="utf-8", newline="") as text,
        conn.cursor() as cur,
    ):
        reader = csv.reader(text, strict=True)
        with cur.copy(f"COPY {TEXT_STAGE} (line, {_COLUMN_LIST}) FROM STDIN") as copy:
            previous = 0
            while True:
                start = previous + 1
                try:
                    record = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    malformed.append(InvalidRow(start, _csv_problem(exc)))
                    previous = reader.line_num
                    continue
                except UnicodeDecodeError as exc:
                    raise InstrumentDumpError(
                        f"line {_first_line_not_utf8(dump)}: the instrument dump is not UTF-8 "
                        f"text ({exc.reason})"
                    ) from None
                previous = reader.line_num
                if start == 1:
                    continue
                problem = _shape_problem(record)
                if problem:
                    malformed.append(InvalidRow(start, problem))
                    continue
                copy.write_row((start, *record))
                rows += 1
    return rows, malformed


def type_text_stage(conn: psycopg.Connection[Any]) -> None:
    """Move the (validated) rows of the TEXT stage into the typed stage."""
    conn.execute(f"TRUNCATE {STAGE}")
    conn.execute(_TYPE_TEXT_STAGE)
    conn.execute(f"DROP TABLE {TEXT_STAGE}")


def _first_line_not_utf8(dump: DumpBytes) -> int:
    """The physical line of the dump's first byte that is not UTF-8.

    The text reader decodes ahead in blocks, so where it failed says little.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    with dump.replay() as raw:
        while chunk := raw.read(CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return line + chunk.count(b"\n", 0, max(0, exc.start))
            line += chunk.count(b"\n")
    return line


def _shape_problem(record: list[str]) -> str | None:
    if not record:
        return "blank line"
    if len(record) != len(COLUMNS):
        return f"expected {len(COLUMNS)} fields, found {len(record)}"
    if any("\x00" in field for field in record):
        return "contains a NUL character"
    return None


def _csv_problem(exc: csv.Error) -> str:
    if "unexpected end of data" in str(exc):
        return "unterminated quoted field at the end of the file (truncated?)"
    return f"malformed CSV: {exc}"
