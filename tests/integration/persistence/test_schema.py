"""The schema under Alembic: at head after migrate, checked, and reversible."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import structlog

from alphap.cli import main
from persistence import schema
from persistence.errors import SchemaNotAtHeadError
from tests.integration.persistence.catalog import catalog, contents


def test_empty_database_is_not_at_head(empty_database_url: str) -> None:
    with pytest.raises(SchemaNotAtHeadError, match="alphap migrate"):
        schema.ensure_at_head(empty_database_url)


def test_migrated_database_is_at_head(database_url: str) -> None:
    schema.ensure_at_head(database_url)
    assert schema.current_revision(database_url) == schema.head_revision()


def test_downgrade_to_base_and_up_again(database_url: str) -> None:
    schema.downgrade(database_url, "base")
    assert schema.current_revision(database_url) is None
    schema.upgrade(database_url)
    schema.ensure_at_head(database_url)


def test_an_empty_database_is_reported_as_empty(empty_database_url: str) -> None:
    with pytest.raises(SchemaNotAtHeadError, match=r"database is empty .*run alphap migrate"):
        schema.ensure_at_head(empty_database_url)


def test_an_older_revision_is_reported_with_both_revisions(database_url: str) -> None:
    schema.downgrade(database_url, "0001")

    with pytest.raises(
        SchemaNotAtHeadError,
        match=f"at revision 0001, this alphap needs {schema.head_revision()}: run alphap migrate",
    ):
        schema.ensure_at_head(database_url)
    assert schema.pending_revisions(database_url) == [schema.head_revision()]


def test_an_unknown_revision_is_reported_as_newer(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")

    with pytest.raises(SchemaNotAtHeadError, match="9999, which this alphap does not know"):
        schema.ensure_at_head(database_url)


def test_dry_run_on_an_older_revision_lists_the_revisions_and_changes_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    schema.downgrade(database_url, "0001")
    monkeypatch.setenv("ALPHAP_DATABASE_URL", database_url)
    before = (catalog(database_url), contents(database_url))
    saved = structlog.get_config()
    try:
        assert main(["migrate", "--dry-run"]) == 0
    finally:
        structlog.configure(**saved)

    assert (catalog(database_url), contents(database_url)) == before
    assert f"schema at 0001; would apply {schema.head_revision()}" in capsys.readouterr().out


def _one_column(url: str, query: str) -> set[Any]:
    with psycopg.connect(url) as conn:
        return {row[0] if len(row) == 1 else tuple(row) for row in conn.execute(query)}  # type: ignore[arg-type]


def test_head_has_every_required_constraint(database_url: str) -> None:
    constraints = _one_column(
        database_url,
        "SELECT conrelid::regclass::text, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace",
    )
    assert {
        ("trading_sessions", "UNIQUE (user_id)"),
        ("portfolio_snapshots", "UNIQUE (broker_namespace, portfolio_id)"),
        ("trading_events", "UNIQUE (event_id)"),
        ("strategy_configurations", "UNIQUE (strategy_id)"),
        (
            "instrument_registry",
            "FOREIGN KEY (instrument_token) REFERENCES instruments(instrument_token) "
            "ON DELETE RESTRICT",
        ),
    } <= constraints


def test_head_has_every_required_index(database_url: str) -> None:
    indexes = _one_column(
        database_url,
        "SELECT regexp_replace(indexdef, '^.* USING btree ', '') || ' ON ' || tablename "
        "FROM pg_indexes WHERE schemaname = 'public'",
    )
    assert {
        "(updated_at) ON trading_sessions",
        "(broker_namespace, snapshot_time DESC) ON portfolio_snapshots",
        "(broker_namespace, event_timestamp) ON trading_events",
        "(correlation_id) ON trading_events",
        "(event_id) ON trading_events",
    } <= indexes


def test_money_is_numeric_and_json_is_jsonb_everywhere(database_url: str) -> None:
    types = _one_column(
        database_url,
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = 'public'",
    )
    assert not {t for t in types if t[2] in {"json", "double precision", "real", "money"}}
    money = {
        ("portfolio_snapshots", c)
        for c in ("cash", "total_realized_pnl", "total_unrealized_pnl", "total_pnl")
    } | {("instruments", c) for c in ("last_price", "strike", "tick_size")}
    assert {(t, c) for t, c, kind in types if kind == "numeric"} >= money
    json_columns = {
        ("trading_sessions", "session_data"),
        ("strategy_configurations", "parameters"),
        ("strategy_configurations", "instruments"),
        ("portfolio_snapshots", "positions"),
        ("trading_events", "event_data"),
        ("legacy_duplicates", "row_data"),
    }
    assert {(t, c) for t, c, kind in types if kind == "jsonb"} == json_columns


def test_the_event_journal_is_not_partitioned(database_url: str) -> None:
    # UNIQUE(event_id) must hold across the whole journal: see docs/MIGRATIONS.md.
    assert _one_column(
        database_url, "SELECT relkind::text FROM pg_class WHERE oid = 'trading_events'::regclass"
    ) == {"r"}
