"""`alphap portfolio list` and `show`: the latest snapshots, for people and as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
import pytest

from actors.instruments import load_dump
from alphap.cli import main
from persistence.pool import PoolConfig, open_pool
from persistence.repositories import snapshots
from persistence.repositories.snapshots import Position, Snapshot
from persistence.uow import transaction
from tests.fixtures.fake_kite import DATA_DIR

TAKEN = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
ALPHA = Snapshot(
    broker_namespace="paper",
    portfolio_id="alpha/1",
    strategy_id="momentum",
    positions={
        "2885377": Position(
            quantity=10,
            average_price=Decimal("100.25"),
            realized_pnl=Decimal("-1.5"),
            last_price=Decimal("101.00"),
        ),
        "999": Position(
            quantity=-3,
            average_price=Decimal("50"),
            realized_pnl=Decimal("0"),
            last_price=Decimal("49.10"),
        ),
    },
    cash=Decimal("998997.0000000001"),
    total_realized_pnl=Decimal("-1.5"),
    total_unrealized_pnl=Decimal("10.20"),
    total_pnl=Decimal("8.70"),
    last_journal_id=42,
    snapshot_time=TAKEN,
)
BETA = Snapshot(
    broker_namespace="zerodha",
    portfolio_id="b",
    cash=Decimal("1000000"),
    snapshot_time=TAKEN,
)


@pytest.fixture
def seeded(cli_env: None, database_url: str) -> None:
    pool = open_pool(PoolConfig(conninfo=database_url, min_size=1, max_size=2))
    try:
        load_dump(pool, DATA_DIR / "instruments.csv")
    finally:
        pool.close()
    with psycopg.connect(database_url) as conn, transaction(conn) as uow:
        assert snapshots.upsert_many(uow.conn, [ALPHA, BETA]) == {ALPHA.key, BETA.key}


@pytest.mark.usefixtures("seeded")
def test_list_shows_one_line_per_portfolio(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portfolio", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["portfolio", "cash", "total_pnl", "positions", "snapshot_time"]
    assert lines[1].split() == [
        "paper/alpha/1", "998997.0000000001", "8.70", "2", "2026-11-27T09:15:00+00:00"
    ]  # fmt: skip
    assert lines[2].split() == ["zerodha/b", "1000000", "0", "0", "2026-11-27T09:15:00+00:00"]
    assert len(lines) == 3


@pytest.mark.usefixtures("seeded")
def test_list_as_json_keeps_decimals_exact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portfolio", "list", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [p["portfolio"] for p in document] == ["paper/alpha/1", "zerodha/b"]
    assert document[0]["cash"] == "998997.0000000001"
    assert document[0]["total_pnl"] == "8.70"
    assert document[0]["positions"] == 2
    assert document[0]["snapshot_time"] == "2026-11-27T09:15:00+00:00"


@pytest.mark.usefixtures("seeded")
def test_show_prints_positions_with_symbols_and_totals(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portfolio", "show", "paper/alpha/1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "portfolio paper/alpha/1  (strategy momentum)"
    assert lines[1] == "snapshot 2026-11-27T09:15:00+00:00, journal id 42"
    assert lines[2].split() == [
        "token", "symbol", "quantity", "average", "realized", "last", "unrealized"
    ]  # fmt: skip
    assert lines[3].split() == ["999", "-3", "50", "0", "49.10", "2.70"]
    assert lines[4].split() == [
        "2885377", "NSE:ALPHAMETAL", "10", "100.25", "-1.5", "101.00", "7.50"
    ]  # fmt: skip
    assert lines[5] == "cash 998997.0000000001  realized -1.5  unrealized 10.20  total pnl 8.70"


@pytest.mark.usefixtures("seeded")
def test_show_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portfolio", "show", "paper/alpha/1", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["portfolio"] == "paper/alpha/1"
    assert document["total_unrealized_pnl"] == "10.20"
    assert document["positions"] == [
        {
            "instrument_token": "999",
            "tradingsymbol": None,
            "quantity": -3,
            "average_price": "50",
            "realized_pnl": "0",
            "last_price": "49.10",
            "unrealized_pnl": "2.70",
        },
        {
            "instrument_token": "2885377",
            "tradingsymbol": "NSE:ALPHAMETAL",
            "quantity": 10,
            "average_price": "100.25",
            "realized_pnl": "-1.5",
            "last_price": "101.00",
            "unrealized_pnl": "7.50",
        },
    ]


@pytest.mark.usefixtures("seeded")
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_an_unknown_portfolio_is_an_error(
    json_flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["portfolio", "show", "paper/nope", *json_flag]) == 2
    captured = capsys.readouterr()
    assert "no portfolio paper/nope" in captured.err
    assert captured.out == ""
    assert main(["portfolio", "show", "no-slash", *json_flag]) == 2
    assert "expected <broker_namespace>/<portfolio_id>" in capsys.readouterr().err


@pytest.mark.usefixtures("cli_env")
def test_an_empty_database_lists_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["portfolio", "list"]) == 0
    assert capsys.readouterr().out == "no portfolio snapshots yet\n"
    assert main(["portfolio", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
