"""Adopting a database the old system made with SQLAlchemy create_all.

Revision 0002 calls this when the old tables already exist: they are set aside in
the schema `alphap_legacy`, 0002 creates its tables as on a fresh database, and
the rows are copied in with their values converted (float -> NUMERIC through
text so 100.1 stays 100.1, json -> jsonb, the renamed columns). Of the rows that
share a new unique key the most recently updated one is kept; the others, and
rows that cannot satisfy the new constraints at all (a NULL key, a registry
entry whose instrument is gone), are moved whole into legacy_duplicates.

This module adopts into the shape of revision 0002 and must not follow later
revisions: they apply on top of it like on any other database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from persistence.errors import LegacySchemaError

ASIDE_SCHEMA = "alphap_legacy"

_UUID_SHAPED = r"'^[0-9a-f]{8}-?([0-9a-f]{4}-?){3}[0-9a-f]{12}$'"
_EVENT_UUID = (
    f"CASE WHEN l.event_id ~* {_UUID_SHAPED} THEN l.event_id::uuid ELSE md5(l.event_id)::uuid END"
)


def _money(column: str) -> str:
    # Through text: float8 prints its shortest exact form, the direct cast rounds to 15 digits.
    return f"coalesce(l.{column}::text::numeric, 0)"


def _text(column: str) -> str:
    return f"coalesce(l.{column}::text, '')"


def _jsonb(column: str, empty: str = "{}") -> str:
    return f"coalesce(l.{column}::jsonb, '{empty}'::jsonb)"


_CREATED = "coalesce(l.created_at::timestamptz, now())"
_UPDATED = "coalesce(l.updated_at::timestamptz, l.created_at::timestamptz, now())"
_NEWEST_UPDATE = "l.updated_at DESC NULLS LAST, l.created_at DESC NULLS LAST, l.id DESC"


@dataclass(frozen=True)
class Column:
    """A column of the new table and the legacy column (if any) it is made from."""

    target: str
    target_type: str
    source: str | None
    expression: str


def _col(target: str, target_type: str, expression: str = "", source: str = "") -> Column:
    source = source or target
    return Column(target, target_type, source, expression or f"l.{source}")


@dataclass(frozen=True)
class LegacyTable:
    """How one legacy table becomes its 0002 counterpart."""

    name: str
    key: tuple[str, ...]
    newest_first: str
    columns: tuple[Column, ...]
    dropped: tuple[str, ...] = ()
    keepable: str = "TRUE"
    identity: str | None = None

    @property
    def legacy_columns(self) -> frozenset[str]:
        return frozenset(c.source for c in self.columns if c.source) | set(self.dropped)


TABLES: tuple[LegacyTable, ...] = (
    LegacyTable(
        name="trading_sessions",
        key=("l.user_id",),
        newest_first=_NEWEST_UPDATE,
        identity="id",
        columns=(
            _col("id", "bigint"),
            _col("session_id", "text", "coalesce(l.session_id::text, 'legacy-' || l.id)"),
            _col("user_id", "text", "l.user_id::text"),
            _col(
                "start_time",
                "timestamp with time zone",
                "coalesce(l.start_time, l.created_at, now())",
            ),
            _col("end_time", "timestamp with time zone"),
            # The old schema had no expiry: a Kite token lasts a day, so an adopted
            # session counts as expired from its last sign of life.
            Column(
                "expires_at",
                "timestamp with time zone",
                None,
                "coalesce(l.end_time, l.updated_at, l.start_time, l.created_at, now())",
            ),
            _col("is_active", "boolean", "coalesce(l.is_active, FALSE)"),
            _col("session_data", "jsonb", _jsonb("session_data")),
            _col("created_at", "timestamp with time zone", _CREATED),
            _col("updated_at", "timestamp with time zone", _UPDATED),
        ),
    ),
    LegacyTable(
        name="strategy_configurations",
        key=("l.strategy_id",),
        newest_first=_NEWEST_UPDATE,
        identity="id",
        columns=(
            _col("id", "bigint"),
            _col("strategy_id", "text", "l.strategy_id::text"),
            _col("name", "text", _text("name")),
            _col("strategy_type", "text", _text("strategy_type")),
            _col("parameters", "jsonb", _jsonb("parameters")),
            _col("instruments", "jsonb", _jsonb("instruments", "[]")),
            _col("is_active", "boolean", "coalesce(l.is_active, TRUE)"),
            _col(
                "zerodha_trading_enabled",
                "boolean",
                "coalesce(l.live_trading_enabled, FALSE)",
                source="live_trading_enabled",
            ),
            _col("created_at", "timestamp with time zone", _CREATED),
            _col("updated_at", "timestamp with time zone", _UPDATED),
        ),
    ),
    LegacyTable(
        name="portfolio_snapshots",
        key=("l.broker_namespace", "l.portfolio_id"),
        newest_first=("l.snapshot_time DESC NULLS LAST, l.created_at DESC NULLS LAST, l.id DESC"),
        identity="id",
        columns=(
            _col("id", "bigint"),
            _col("broker_namespace", "text", "l.broker_namespace::text"),
            _col("portfolio_id", "text", "l.portfolio_id::text"),
            _col("strategy_id", "text", _text("strategy_id")),
            _col("positions", "jsonb", _jsonb("positions")),
            _col("cash", "numeric", _money("cash")),
            _col("total_realized_pnl", "numeric", _money("total_realized_pnl")),
            _col("total_unrealized_pnl", "numeric", _money("total_unrealized_pnl")),
            _col("total_pnl", "numeric", _money("total_pnl")),
            _col(
                "snapshot_time",
                "timestamp with time zone",
                "coalesce(l.snapshot_time, l.created_at, now())",
            ),
            _col("created_at", "timestamp with time zone", _CREATED),
        ),
    ),
    LegacyTable(
        name="trading_events",
        key=(_EVENT_UUID,),
        newest_first="l.created_at DESC NULLS LAST, l.id DESC",
        identity="journal_id",
        columns=(
            _col("journal_id", "bigint", source="id"),
            _col("event_id", "uuid", _EVENT_UUID),
            _col("event_type", "text", _text("event_type")),
            _col("broker_namespace", "text", _text("broker_namespace")),
            _col("strategy_id", "text", "l.strategy_id::text"),
            _col("instrument_token", "bigint", "l.instrument_token::bigint"),
            _col("correlation_id", "text", "l.correlation_id::text"),
            _col(
                "event_timestamp",
                "timestamp with time zone",
                "coalesce(l.event_timestamp, l.created_at, now())",
            ),
            # An id that is no UUID gets a derived one; the original stays in the data.
            _col(
                "event_data",
                "jsonb",
                f"CASE WHEN l.event_id ~* {_UUID_SHAPED} THEN {_jsonb('event_data')} "
                f"ELSE {_jsonb('event_data')} || jsonb_build_object('legacy_event_id', "
                "l.event_id) END",
            ),
            _col("recorded_at", "timestamp with time zone", _CREATED, source="created_at"),
        ),
    ),
    LegacyTable(
        name="instruments",
        key=("l.instrument_token",),
        newest_first=_NEWEST_UPDATE,
        dropped=("id",),
        columns=(
            _col("instrument_token", "bigint", "l.instrument_token::bigint"),
            _col("exchange_token", "bigint", "coalesce(l.exchange_token::bigint, 0)"),
            _col("tradingsymbol", "text", _text("tradingsymbol")),
            _col("name", "text", _text("name")),
            _col("last_price", "numeric", _money("last_price")),
            _col("expiry", "date", "nullif(btrim(l.expiry::text), '')::date"),
            _col("strike", "numeric", _money("strike")),
            _col("tick_size", "numeric", _money("tick_size")),
            _col("lot_size", "integer", "coalesce(l.lot_size, 0)"),
            _col("instrument_type", "text", _text("instrument_type")),
            _col("segment", "text", _text("segment")),
            _col("exchange", "text", _text("exchange")),
            _col("active", "boolean", "coalesce(l.is_active, TRUE)", source="is_active"),
            _col("created_at", "timestamp with time zone", _CREATED),
            _col("updated_at", "timestamp with time zone", _UPDATED),
        ),
    ),
    LegacyTable(
        name="instrument_registry",
        key=("l.instrument_token",),
        newest_first=_NEWEST_UPDATE,
        identity="id",
        # public.instruments is the legacy table during a dry run and the adopted
        # one during adoption: either way, the instrument exists or it does not.
        keepable=(
            "EXISTS (SELECT 1 FROM public.instruments i "
            "WHERE i.instrument_token = l.instrument_token)"
        ),
        columns=(
            _col("id", "bigint"),
            _col("instrument_token", "bigint", "l.instrument_token::bigint"),
            _col("tradingsymbol", "text", _text("tradingsymbol")),
            _col("exchange", "text", _text("exchange")),
            _col("is_active", "boolean", "coalesce(l.is_active, TRUE)"),
            _col("created_at", "timestamp with time zone", _CREATED),
            _col("updated_at", "timestamp with time zone", _UPDATED),
        ),
    ),
)


@dataclass(frozen=True)
class TableAdoption:
    """What adopting one legacy table does (or did)."""

    table: str
    rows: int
    moved: int
    changes: tuple[str, ...]

    @property
    def kept(self) -> int:
        return self.rows - self.moved


def legacy_tables(conn: psycopg.Connection[Any]) -> list[LegacyTable]:
    """The legacy tables present in the public schema, in adoption order."""
    names = [t.name for t in TABLES]
    rows = conn.execute(
        "SELECT n FROM unnest(%s::text[]) AS n WHERE to_regclass('public.' || n) IS NOT NULL",
        [names],
    ).fetchall()
    present = {row[0] for row in rows}
    return [t for t in TABLES if t.name in present]


def _columns(conn: psycopg.Connection[Any], schema: str, table: str) -> dict[str, str]:
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        [schema, table],
    ).fetchall()
    return dict(rows)


def _changes(table: LegacyTable, legacy_types: dict[str, str]) -> tuple[str, ...]:
    changes = []
    for column in table.columns:
        if column.source is None:
            changes.append(f"{column.target}: new, derived from the old row")
            continue
        old_type = legacy_types[column.source]
        if column.source != column.target:
            changes.append(f"{column.source} renamed to {column.target}")
        if old_type not in (column.target_type, "character varying"):
            changes.append(f"{column.target}: {old_type} -> {column.target_type}")
    changes.extend(
        f"{name}: dropped (a surrogate key the new table has not)" for name in table.dropped
    )
    return tuple(changes)


def _moved_rows(schema: str, table: LegacyTable) -> sql.Composed:
    """Rows to move: every row but the newest of each key, and rows that cannot be kept."""
    keepable = " AND ".join([*(f"{k} IS NOT NULL" for k in table.key), table.keepable])
    return sql.SQL(
        "SELECT l.alphap_row FROM (SELECT l.alphap_row, l.alphap_keepable, "
        "row_number() OVER (PARTITION BY l.alphap_keepable, {key} ORDER BY {order}) AS rank "
        "FROM (SELECT l.*, l.ctid AS alphap_row, ({keepable}) AS alphap_keepable "
        "FROM {source} l) l) l WHERE l.rank > 1 OR NOT l.alphap_keepable"
    ).format(
        keepable=sql.SQL(keepable),
        key=sql.SQL(", ".join(table.key)),
        order=sql.SQL(table.newest_first),
        source=sql.Identifier(schema, table.name),
    )


def plan(conn: psycopg.Connection[Any], schema: str = "public") -> list[TableAdoption]:
    """What adopting the legacy tables in `schema` would do; raises LegacySchemaError
    when a table has columns this adoption does not know or lacks ones it needs."""
    result = []
    for table in legacy_tables(conn) if schema == "public" else _aside_tables(conn):
        types = _columns(conn, schema, table.name)
        unknown = sorted(types.keys() - table.legacy_columns)
        missing = sorted(table.legacy_columns - types.keys())
        if unknown or missing:
            raise LegacySchemaError(
                f"legacy table {table.name} does not have the expected shape "
                f"(unknown columns: {', '.join(unknown) or 'none'}; "
                f"missing columns: {', '.join(missing) or 'none'}): it cannot be adopted "
                "without losing data"
            )
        rows, moved = _one(
            conn,
            sql.SQL(
                "SELECT (SELECT count(*) FROM {source}), (SELECT count(*) FROM ({moved}) m)"
            ).format(source=sql.Identifier(schema, table.name), moved=_moved_rows(schema, table)),
        )
        result.append(TableAdoption(table.name, rows, moved, _changes(table, types)))
    return result


def _one(conn: psycopg.Connection[Any], query: sql.Composed) -> tuple[Any, ...]:
    row = conn.execute(query).fetchone()
    if row is None:
        raise LegacySchemaError("a counting query returned no row")
    return tuple(row)


def _aside_tables(conn: psycopg.Connection[Any]) -> list[LegacyTable]:
    present = {
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [ASIDE_SCHEMA],
        )
    }
    return [t for t in TABLES if t.name in present]


def set_aside(conn: psycopg.Connection[Any]) -> list[TableAdoption]:
    """Check the legacy tables and move them (with their indexes and sequences) out of
    the way into ASIDE_SCHEMA, so that 0002 can create its own tables."""
    adoptions = plan(conn)
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(ASIDE_SCHEMA)))
    for adoption in adoptions:
        conn.execute(
            sql.SQL("ALTER TABLE {} SET SCHEMA {}").format(
                sql.Identifier("public", adoption.table), sql.Identifier(ASIDE_SCHEMA)
            )
        )
    return adoptions


def adopt(conn: psycopg.Connection[Any]) -> list[TableAdoption]:
    """Copy the set-aside rows into the new tables, move the rest into legacy_duplicates,
    and drop ASIDE_SCHEMA. Runs inside the migration's transaction."""
    conn.execute("SET LOCAL TimeZone = 'UTC'")  # naive legacy timestamps were UTC
    conn.execute("SET LOCAL extra_float_digits = 1")  # float8::text is then exact
    adoptions = plan(conn, ASIDE_SCHEMA)
    for table in _aside_tables(conn):
        _adopt_table(conn, table)
    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(ASIDE_SCHEMA)))
    return adoptions


def _adopt_table(conn: psycopg.Connection[Any], table: LegacyTable) -> None:
    source = sql.Identifier(ASIDE_SCHEMA, table.name)
    # New ids continue after every legacy id, the moved rows' included, so that no
    # id in legacy_duplicates ever names a different row of the new table.
    top_id = _top_legacy_id(conn, table)
    conn.execute(
        sql.SQL(
            "WITH moved AS (DELETE FROM {source} l WHERE l.ctid IN ({moved}) RETURNING l.*) "
            "INSERT INTO legacy_duplicates (source_table, row_data) "
            "SELECT {name}, to_jsonb(moved) FROM moved"
        ).format(source=source, moved=_moved_rows(ASIDE_SCHEMA, table), name=table.name)
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {target} ({columns}) {overriding} SELECT {values} FROM {source} l"
        ).format(
            target=sql.Identifier("public", table.name),
            columns=sql.SQL(", ").join(sql.Identifier(c.target) for c in table.columns),
            overriding=sql.SQL("OVERRIDING SYSTEM VALUE" if table.identity else ""),
            values=sql.SQL(", ").join(sql.SQL(c.expression) for c in table.columns),
            source=source,
        )
    )
    if table.identity and top_id is not None:
        conn.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), %s)",
            [f"public.{table.name}", table.identity, top_id],
        )


def _top_legacy_id(conn: psycopg.Connection[Any], table: LegacyTable) -> int | None:
    identity = next((c for c in table.columns if c.target == table.identity), None)
    if identity is None or identity.source is None:
        return None
    (top,) = _one(
        conn,
        sql.SQL("SELECT max({}) FROM {}").format(
            sql.Identifier(identity.source), sql.Identifier(ASIDE_SCHEMA, table.name)
        ),
    )
    return int(top) if top is not None else None
