"""`alphap migrate` adopts a database the old system made with create_all, losing nothing."""

from __future__ import annotations

import hashlib
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import structlog
from psycopg import sql
from psycopg.rows import dict_row

from alphap.cli import main
from alphap.embedded import EmbeddedPostgres
from persistence import schema
from persistence.cipher import TokenCipher, generate_key
from persistence.errors import LegacySchemaError, SchemaNotAtHeadError
from persistence.repositories.sessions import SessionRepository
from persistence.uow import transaction
from tests.integration.persistence.catalog import catalog, contents

LEGACY_SQL = Path(__file__).parents[2] / "fixtures" / "legacy_schema.sql"
TABLES = (
    "trading_sessions",
    "strategy_configurations",
    "portfolio_snapshots",
    "trading_events",
    "instruments",
    "instrument_registry",
)
# rows in the fixture per table, and how many of them the adoption must move
ORIGINAL = {
    "trading_sessions": 5,
    "strategy_configurations": 3,
    "portfolio_snapshots": 5,
    "trading_events": 4,
    "instruments": 3,
    "instrument_registry": 3,
}
MOVED = {
    "trading_sessions": 3,  # two older logins of AB1234 and the session with no user
    "strategy_configurations": 1,
    "portfolio_snapshots": 2,
    "trading_events": 1,
    "instruments": 0,
    "instrument_registry": 1,  # its instrument is gone
}


@pytest.fixture
def legacy_database_url(empty_database_url: str) -> Iterator[str]:
    """A database as the old system left it: no alembic_version, duplicates, floats."""
    with psycopg.connect(empty_database_url) as conn:
        conn.execute(LEGACY_SQL.read_text())  # type: ignore[arg-type]
    yield empty_database_url


@pytest.fixture
def cli() -> Iterator[Callable[[list[str]], int]]:
    """`alphap` run in-process; the logging it configures is undone afterwards."""
    saved = structlog.get_config()
    yield main
    structlog.configure(**saved)


def _rows(url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def _counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        return {
            t: conn.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(t))
            ).fetchone()[0]  # type: ignore[index]
            for t in TABLES
        }


def _moved(url: str) -> dict[str, int]:
    rows = _rows(url, "SELECT source_table, count(*) AS n FROM legacy_duplicates GROUP BY 1")
    return {row["source_table"]: row["n"] for row in rows}


def test_the_fixture_is_a_legacy_database(legacy_database_url: str) -> None:
    assert _counts(legacy_database_url) == ORIGINAL
    assert schema.current_revision(legacy_database_url) is None
    with pytest.raises(SchemaNotAtHeadError, match="legacy schema found: run alphap migrate"):
        schema.ensure_at_head(legacy_database_url)


def test_adoption_keeps_one_row_per_key_and_moves_the_rest(legacy_database_url: str) -> None:
    schema.upgrade(legacy_database_url)

    schema.ensure_at_head(legacy_database_url)
    kept, moved = _counts(legacy_database_url), _moved(legacy_database_url)
    for table in TABLES:
        assert kept[table] + moved.get(table, 0) == ORIGINAL[table], table
        assert moved.get(table, 0) == MOVED[table], table


def test_the_newest_row_of_each_key_is_kept(legacy_database_url: str) -> None:
    schema.upgrade(legacy_database_url)
    url = legacy_database_url

    sessions = _rows(url, "SELECT id, user_id, session_id FROM trading_sessions ORDER BY id")
    assert sessions == [
        {"id": 2, "user_id": "AB1234", "session_id": "s-2"},
        {"id": 4, "user_id": "CD5678", "session_id": "s-4"},
    ]
    snapshots = _rows(
        url, "SELECT id, broker_namespace, portfolio_id FROM portfolio_snapshots ORDER BY id"
    )
    assert [s["id"] for s in snapshots] == [3, 4, 5]
    strategies = _rows(url, "SELECT id, strategy_id FROM strategy_configurations ORDER BY id")
    assert [s["id"] for s in strategies] == [2, 3]
    events = _rows(url, "SELECT journal_id, event_id FROM trading_events ORDER BY journal_id")
    assert [e["journal_id"] for e in events] == [2, 3, 4]
    moved = _rows(
        url, "SELECT source_table, row_data FROM legacy_duplicates ORDER BY source_table, id"
    )
    moved_ids = {(m["source_table"], m["row_data"]["id"]) for m in moved}
    assert moved_ids == {
        ("trading_sessions", 1),
        ("trading_sessions", 3),
        ("trading_sessions", 5),
        ("strategy_configurations", 1),
        ("portfolio_snapshots", 1),
        ("portfolio_snapshots", 2),
        ("trading_events", 1),
        ("instrument_registry", 3),
    }


def test_moved_rows_are_whole(legacy_database_url: str) -> None:
    schema.upgrade(legacy_database_url)

    [row] = _rows(
        legacy_database_url,
        "SELECT row_data::text AS data, moved_at FROM legacy_duplicates "
        "WHERE source_table = 'portfolio_snapshots' AND (row_data->>'id')::int = 1",
    )
    assert json.loads(row["data"], parse_float=Decimal) == {
        "id": 1,
        "portfolio_id": "p-1",
        "broker_namespace": "paper",
        "strategy_id": "momentum-1",
        "positions": {"256265": {"quantity": 10, "average_price": Decimal("100.1")}},
        "total_realized_pnl": Decimal("0.1"),
        "total_unrealized_pnl": Decimal("0.2"),
        "total_pnl": Decimal("0.30000000000000004"),
        "cash": Decimal("100000.0"),
        "snapshot_time": "2025-01-06T10:00:00+00:00",
        "created_at": "2025-01-06T10:00:00+00:00",
    }
    assert row["moved_at"] is not None


def test_values_are_carried_over_exactly(legacy_database_url: str) -> None:
    schema.upgrade(legacy_database_url)
    url = legacy_database_url

    [snapshot] = _rows(url, "SELECT * FROM portfolio_snapshots WHERE id = 3")
    assert snapshot["total_realized_pnl"] == Decimal("100.1")
    assert str(snapshot["total_realized_pnl"]) == "100.1"
    assert snapshot["total_unrealized_pnl"] == Decimal("1e-7")
    assert snapshot["total_pnl"] == Decimal("100.1000001")
    assert snapshot["cash"] == Decimal("99999.99")
    assert snapshot["positions"] == {"256265": {"quantity": 5, "average_price": 100.1}}
    [empty] = _rows(url, "SELECT * FROM portfolio_snapshots WHERE id = 5")
    assert (empty["cash"], empty["total_pnl"]) == (Decimal(0), Decimal(0))

    [session] = _rows(url, "SELECT * FROM trading_sessions WHERE user_id = 'AB1234'")
    assert session["session_data"] == {
        "access_token": "plain-old-token-2",
        "public_token": "pub-2",
        "user_name": "A B",
    }
    assert session["expires_at"] == session["updated_at"]  # adopted sessions count as expired

    enabled = _rows(
        url,
        "SELECT strategy_id, zerodha_trading_enabled, parameters FROM strategy_configurations "
        "ORDER BY strategy_id",
    )
    assert enabled == [
        {"strategy_id": "meanrev-1", "zerodha_trading_enabled": True, "parameters": {"window": 10}},
        {
            "strategy_id": "momentum-1",
            "zerodha_trading_enabled": True,
            "parameters": {"lookback": 30, "threshold": 0.25},
        },
    ]

    instruments = _rows(
        url, "SELECT instrument_token, last_price, expiry, strike FROM instruments ORDER BY 1"
    )
    assert instruments == [
        {
            "instrument_token": 256265,
            "last_price": Decimal("23456.1"),
            "expiry": None,
            "strike": Decimal(0),
        },
        {
            "instrument_token": 260105,
            "last_price": Decimal("51234.55"),
            "expiry": None,
            "strike": Decimal(0),
        },
        {
            "instrument_token": 12345678,
            "last_price": Decimal("100.1"),
            "expiry": date(2025, 1, 30),
            "strike": Decimal(23500),
        },
    ]


def test_event_ids_become_uuids(legacy_database_url: str) -> None:
    schema.upgrade(legacy_database_url)

    events = {
        e["journal_id"]: e for e in _rows(legacy_database_url, "SELECT * FROM trading_events")
    }
    assert events[3]["event_id"] == uuid.UUID("6f1c1f8e-0d1a-4c55-9a3e-1f1a2b3c4d5e")
    assert events[3]["event_type"] == "ORDER_FILLED"
    assert events[3]["event_data"] == {"price": 100.1, "quantity": 10}
    legacy_id = uuid.UUID(hashlib.md5(b"order-17", usedforsecurity=False).hexdigest())
    assert events[4]["event_id"] == legacy_id
    assert events[4]["event_data"] == {"note": "pre-uuid id", "legacy_event_id": "order-17"}


def test_adopted_database_has_the_schema_of_a_fresh_one(
    legacy_database_url: str, database_url: str
) -> None:
    schema.upgrade(legacy_database_url)

    assert catalog(legacy_database_url) == catalog(database_url)


def test_new_rows_after_adoption_get_new_ids(legacy_database_url: str) -> None:
    schema.upgrade(legacy_database_url)

    [row] = _rows(
        legacy_database_url,
        "INSERT INTO trading_sessions (session_id, user_id, expires_at) "
        "VALUES ('s-new', 'EF9012', now()) RETURNING id",
    )
    assert row["id"] > 5
    [event] = _rows(
        legacy_database_url,
        "INSERT INTO trading_events (event_id, event_type, broker_namespace, event_timestamp, "
        "event_data) VALUES (gen_random_uuid(), 'x', 'paper', now(), '{}') RETURNING journal_id",
    )
    assert event["journal_id"] > 4


def test_dry_run_changes_nothing_and_says_what_it_would_do(
    legacy_database_url: str,
    cli: Callable[[list[str]], int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", legacy_database_url)
    before = (catalog(legacy_database_url), contents(legacy_database_url))

    assert cli(["migrate", "--dry-run"]) == 0

    assert (catalog(legacy_database_url), contents(legacy_database_url)) == before
    out = capsys.readouterr().out
    assert "legacy schema found: would adopt 6 table(s)" in out
    assert "trading_sessions: 5 row(s), 2 kept, 3 moved to legacy_duplicates" in out
    assert "portfolio_snapshots: 5 row(s), 3 kept, 2 moved to legacy_duplicates" in out
    assert "live_trading_enabled renamed to zerodha_trading_enabled" in out
    assert "cash: double precision -> numeric" in out
    assert "session_data: json -> jsonb" in out
    assert "would apply 0001, 0002" in out


def test_migrate_reports_the_adoption(
    legacy_database_url: str,
    cli: Callable[[list[str]], int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", legacy_database_url)

    assert cli(["migrate"]) == 0

    out = capsys.readouterr().out
    assert "legacy schema found: adopted 6 table(s)" in out
    assert "alphap keys rotate" in out
    schema.ensure_at_head(legacy_database_url)


def test_a_table_of_unknown_shape_is_not_adopted_and_nothing_changes(
    legacy_database_url: str,
) -> None:
    with psycopg.connect(legacy_database_url) as conn:
        conn.execute("ALTER TABLE trading_events ADD COLUMN source VARCHAR")
    before = (catalog(legacy_database_url), contents(legacy_database_url))

    with pytest.raises(LegacySchemaError, match=r"trading_events .*unknown columns: source"):
        schema.upgrade(legacy_database_url)

    assert (catalog(legacy_database_url), contents(legacy_database_url)) == before


def test_downgrade_after_adoption_drops_the_tables_and_upgrade_starts_fresh(
    legacy_database_url: str,
) -> None:
    schema.upgrade(legacy_database_url)

    schema.downgrade(legacy_database_url, "base")

    assert schema.current_revision(legacy_database_url) is None
    assert set(contents(legacy_database_url)) == {"alembic_version"}
    schema.upgrade(legacy_database_url)
    schema.ensure_at_head(legacy_database_url)
    assert _counts(legacy_database_url) == dict.fromkeys(TABLES, 0)


def test_keys_rotate_leaves_no_plaintext_token_of_an_adopted_database(
    legacy_database_url: str, tmp_path: Path
) -> None:
    schema.upgrade(legacy_database_url)
    with psycopg.connect(legacy_database_url) as conn, transaction(conn) as uow:
        result = SessionRepository(TokenCipher([generate_key()])).rotate_tokens(uow.conn)
    assert result.encrypted_plaintext >= 4

    pg_dump = EmbeddedPostgres(tmp_path / "unused").binary("pg_dump")
    dump = subprocess.run(
        [str(pg_dump), "--data-only", "--dbname", legacy_database_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "legacy_duplicates" in dump
    for plaintext in ("plain-old-token-1", "plain-old-token-2", "pub-2", "plain-old-token-4"):
        assert plaintext not in dump
