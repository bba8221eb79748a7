"""Load a Kite instruments dump into instruments, inside the caller's transaction.

COPY into a temporary staging table (PostgreSQL parses the CSV), validate in
SQL, then either insert everything (an empty table: validated in the same
statement) or merge with one upsert that touches only changed rows, deactivate what a
full dump no longer lists, and bring instrument_registry in step. The caller
commits; on any error the work is rolled back to where it started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import psycopg
import structlog
from psycopg.pq import TransactionStatus

from persistence.instruments import merge, staging, validate
from persistence.instruments.errors import InstrumentDumpError, InvalidDumpRowsError, InvalidRow
from persistence.instruments.source import DumpBytes, DumpSource
from persistence.instruments.staging import STAGE, TEXT_STAGE, Progress

log = structlog.get_logger(__name__)
_TOKEN = re.compile(r"[0-9]{1,18}")


@dataclass(frozen=True)
class LoadResult:
    """What a load did; `invalid` lists the rows skipped (only with skip_invalid)."""

    rows: int
    inserted: int
    updated: int
    unchanged: int
    deactivated: int
    reactivated: int
    registry_updated: int
    invalid: tuple[InvalidRow, ...] = field(default=())


def load_instruments(
    conn: psycopg.Connection[Any],
    source: DumpSource,
    *,
    full: bool = True,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> LoadResult:
    """Load `source` (a path or a text stream of Kite's instruments CSV).

    `full`: the dump lists every instrument, so those absent become inactive.
    `skip_invalid`: load the valid rows and report the others in the result;
    otherwise any invalid row raises InvalidDumpRowsError and nothing changes.
    `progress` is called with the number of bytes sent so far.
    """
    if conn.autocommit:
        raise InstrumentDumpError(
            "load_instruments runs inside the caller's transaction: "
            "pass a connection that is not in autocommit mode"
        )
    if conn.info.transaction_status == TransactionStatus.IDLE:
        # Open the caller's transaction, so that ours is a savepoint and never commits.
        conn.execute("SELECT 1")
    dump = DumpBytes(source)
    with conn.transaction():
        # One load at a time: a full dump's view of what is absent must not race another's.
        conn.execute("LOCK TABLE instruments IN SHARE ROW EXCLUSIVE MODE")
        _, inactive_before = merge.counts(conn)
        first_load = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM instruments)").fetchone()
        empty = first_load is not None and bool(first_load[0])
        staging.create_stage(conn)
        rows = _copy_fast(conn, dump, progress)
        # A first load validates while it inserts; a reload checks the stage first.
        inserted_fast = _insert_fast(conn, rows) if empty and rows is not None else None
        invalid: list[InvalidRow] = []
        also_present: list[int] = []
        if rows is None or (inserted_fast is None and (empty or not _stage_is_valid(conn))):
            rows, invalid, also_present = _slow_path(conn, dump, skip_invalid=skip_invalid)
        if full and rows == 0 and not also_present:
            raise InstrumentDumpError(
                "the instrument dump has no valid rows: refusing to deactivate every "
                "instrument (load it as a partial dump if that is meant)"
            )
        if inserted_fast is not None:
            inserted, updated = inserted_fast, 0
        elif empty:
            inserted, updated = merge.insert_all(conn), 0
        else:
            inserted, updated = merge.upsert(conn)
        active, inactive = merge.counts(conn)
        deactivated = 0
        if full and (active > rows or also_present):
            deactivated = merge.deactivate_absent(conn, also_present)
        result = LoadResult(
            rows=rows,
            inserted=inserted,
            updated=updated,
            unchanged=rows - inserted - updated,
            deactivated=deactivated,
            reactivated=inactive_before - inactive,
            registry_updated=merge.sync_registry(conn),
            invalid=tuple(invalid),
        )
        conn.execute(f"DROP TABLE {STAGE}")
    log.info(
        "instruments_loaded",
        rows=result.rows,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        deactivated=result.deactivated,
        reactivated=result.reactivated,
        invalid=len(result.invalid),
    )
    return result


def _copy_fast(
    conn: psycopg.Connection[Any], dump: DumpBytes, progress: Progress | None
) -> int | None:
    """Rows copied into the typed stage, or None when COPY rejected the dump."""
    try:
        with conn.transaction():
            return staging.copy_fast(conn, dump, progress)
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        log.info("instrument_dump_slow_path", reason=str(exc).splitlines()[0])
        return None


def _insert_fast(conn: psycopg.Connection[Any], rows: int) -> int | None:
    """Insert the stage into an empty instruments table if every row is valid.

    Returns the rows inserted, or None (and nothing inserted) when a row is invalid
    or repeats an instrument_token (which the primary key of instruments rejects).
    """
    try:
        with conn.transaction():
            inserted = merge.insert_all(conn, validate.row_is_valid(conn))
            if inserted == rows:
                return inserted
            raise psycopg.Rollback
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        log.info("instrument_dump_slow_path", reason=str(exc).splitlines()[0])
    return None


def _stage_is_valid(conn: psycopg.Connection[Any]) -> bool:
    try:
        with conn.transaction():
            return validate.stage_is_valid(conn)
    except psycopg.DataError:
        return False


def _slow_path(
    conn: psycopg.Connection[Any], dump: DumpBytes, *, skip_invalid: bool
) -> tuple[int, list[InvalidRow], list[int]]:
    """Find every problem; raise, or leave the valid rows typed in the stage.

    Returns (valid rows, invalid rows, tokens of invalid rows that are still listed).
    """
    rows, malformed = staging.copy_slow(conn, dump)
    found = validate.validate(conn)
    invalid = sorted([*malformed, *found.problems], key=lambda p: p.line)
    if invalid and not skip_invalid:
        raise InvalidDumpRowsError(invalid)
    also_present: list[int] = []
    if found.ordinals:
        cur = conn.execute(
            f"DELETE FROM {TEXT_STAGE} WHERE ordinal = ANY(%s) RETURNING instrument_token",  # noqa: S608 - constants
            (found.ordinals,),
        )
        also_present = [int(t) for (t,) in cur if _TOKEN.fullmatch(t)]
    staging.type_text_stage(conn)
    return rows - len(found.ordinals), invalid, also_present
