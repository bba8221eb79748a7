"""Loading Kite instrument dumps: counts, exact values, reloads, deactivation, the registry."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from alphap.instrument_master import Instrument, generate_dump, instruments, reloaded, write_dump
from persistence.instruments import InstrumentDumpError, LoadResult, load_instruments
from tests.fixtures.shared_data import shared_path


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url) as connection:
        yield connection


def _text(rows: list[Instrument]) -> io.StringIO:
    out = io.StringIO()
    write_dump(rows, out)
    out.seek(0)
    return out


def _load(conn: psycopg.Connection[Any], source: Any, **options: Any) -> LoadResult:
    result = load_instruments(conn, source, **options)
    conn.commit()
    return result


def _counts(result: LoadResult) -> tuple[int, int, int, int, int]:
    return (
        result.inserted,
        result.updated,
        result.unchanged,
        result.deactivated,
        result.reactivated,
    )


def _active(conn: psycopg.Connection[Any]) -> dict[int, bool]:
    return dict(conn.execute("SELECT instrument_token, active FROM instruments").fetchall())


def test_generated_dump_loads_from_a_path(conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    path = tmp_path / "dump.csv"
    with path.open("w", newline="") as out:
        generate_dump(3_000, seed=11, out=out)
    result = _load(conn, path)
    assert result.rows == 3_000
    assert _counts(result) == (3_000, 0, 0, 0, 0)
    row = conn.execute("SELECT count(*), count(DISTINCT segment) FROM instruments").fetchone()
    assert row == (3_000, len({i.segment for i in instruments(3_000, 11)}))


def test_real_nse_dump_loads_with_exact_values(conn: psycopg.Connection[Any]) -> None:
    path = shared_path("kite-dumps", "nse_2025-10-06.csv")
    result = _load(conn, path)
    assert (result.rows, result.inserted) == (8_320, 8_320)
    by_symbol = {
        r[2]: r
        for r in conn.execute(
            "SELECT instrument_token, exchange_token, tradingsymbol, name, last_price, expiry,"
            " strike, tick_size, lot_size, instrument_type, segment, exchange FROM instruments"
        )
    }
    assert by_symbol["ARE&M"] == (
        25601, 100, "ARE&M", "AMARA RAJA ENERGY MOB", Decimal("0.0"), None, Decimal("0.0"),
        Decimal("0.05"), 1, "EQ", "NSE", "NSE",
    )  # fmt: skip
    assert by_symbol["850NHAI29-N5"][3] == ""
    assert by_symbol["850NHAI29-N5"][7] == Decimal("0.01")
    assert by_symbol["NIFTY EV"][3] == "NIFTY EV & NEW AGE AUTOMOTIVE"
    assert by_symbol["NIFTY 50"][10] == "INDICES"
    segments = dict(conn.execute("SELECT segment, count(*) FROM instruments GROUP BY 1").fetchall())
    assert segments == {"NSE": 8_203, "INDICES": 117}


def test_kite_mock_dump_with_derivatives_loads(conn: psycopg.Connection[Any]) -> None:
    path = shared_path("kite-mocks", "instruments_all.csv")
    with path.open(newline="") as text:
        result = _load(conn, text)
    assert result.rows == 99
    row = conn.execute(
        "SELECT last_price, expiry, strike, lot_size FROM instruments"
        " WHERE tradingsymbol = 'BANKNIFTY18JAN23500CE'"
    ).fetchone()
    assert row == (Decimal("2528.4"), date(2018, 1, 25), Decimal("23500.0"), 40)


def test_reload_of_the_same_dump_changes_nothing(conn: psycopg.Connection[Any]) -> None:
    rows = instruments(2_000, 4)
    _load(conn, _text(rows))
    before = conn.execute(
        "SELECT max(updated_at), max(xmin::text::bigint) FROM instruments"
    ).fetchone()
    result = _load(conn, _text(rows))
    assert _counts(result) == (0, 0, 2_000, 0, 0)
    after = conn.execute(
        "SELECT max(updated_at), max(xmin::text::bigint) FROM instruments"
    ).fetchone()
    assert after == before


def test_reload_with_changes_counts_and_stores_them(conn: psycopg.Connection[Any]) -> None:
    _load(conn, _text(instruments(4_000, 6)))
    later = reloaded(4_000, 6, changed=0.05, new=0.01)
    result = _load(conn, _text(later))
    assert _counts(result) == (40, 200, 3_800, 0, 0)
    stored = dict(conn.execute("SELECT instrument_token, last_price FROM instruments").fetchall())
    assert stored == {i.instrument_token: i.last_price for i in later}


def test_full_dump_deactivates_missing_and_keeps_registry_in_step(
    conn: psycopg.Connection[Any],
) -> None:
    rows = instruments(1_000, 8)
    _load(conn, _text(rows))
    kept, dropped = rows[:900], rows[900:]
    conn.execute(
        "INSERT INTO instrument_registry (instrument_token, tradingsymbol, exchange)"
        " VALUES (%s, 'stale', 'stale'), (%s, %s, %s)",
        (kept[0].instrument_token, dropped[0].instrument_token, dropped[0].tradingsymbol,
         dropped[0].exchange),
    )  # fmt: skip
    conn.commit()
    result = _load(conn, _text(kept))
    assert _counts(result) == (0, 0, 900, 100, 0)
    active = _active(conn)
    assert len(active) == 1_000
    assert all(active[i.instrument_token] for i in kept)
    assert not any(active[i.instrument_token] for i in dropped)
    registry = {
        r[0]: r[1:]
        for r in conn.execute(
            "SELECT instrument_token, tradingsymbol, exchange, is_active FROM instrument_registry"
        )
    }
    assert registry == {
        kept[0].instrument_token: (kept[0].tradingsymbol, kept[0].exchange, True),
        dropped[0].instrument_token: (dropped[0].tradingsymbol, dropped[0].exchange, False),
    }

    result = _load(conn, _text(rows))
    assert _counts(result) == (0, 100, 900, 0, 100)
    assert all(_active(conn).values())
    is_active = conn.execute(
        "SELECT is_active FROM instrument_registry WHERE instrument_token = %s",
        (dropped[0].instrument_token,),
    ).fetchone()
    assert is_active == (True,)


def test_registry_follows_a_renamed_instrument(conn: psycopg.Connection[Any]) -> None:
    rows = instruments(50, 3)
    _load(conn, _text(rows))
    token = rows[0].instrument_token
    conn.execute(
        "INSERT INTO instrument_registry (instrument_token, tradingsymbol, exchange)"
        " VALUES (%s, %s, %s)",
        (token, rows[0].tradingsymbol, rows[0].exchange),
    )
    conn.commit()
    renamed = [rows[0].__class__(**{**rows[0].__dict__, "tradingsymbol": "RENAMED"}), *rows[1:]]
    result = _load(conn, _text(renamed))
    assert (result.updated, result.registry_updated) == (1, 1)
    row = conn.execute(
        "SELECT tradingsymbol FROM instrument_registry WHERE instrument_token = %s", (token,)
    ).fetchone()
    assert row == ("RENAMED",)


def test_partial_dump_deactivates_nothing(conn: psycopg.Connection[Any]) -> None:
    rows = instruments(500, 2)
    _load(conn, _text(rows))
    result = _load(conn, _text(rows[:10]), full=False)
    assert _counts(result) == (0, 0, 10, 0, 0)
    assert all(_active(conn).values())


def test_empty_full_dump_is_refused(conn: psycopg.Connection[Any]) -> None:
    _load(conn, _text(instruments(20, 2)))
    with pytest.raises(InstrumentDumpError, match="no valid rows"):
        load_instruments(conn, _text([]))
    conn.rollback()
    assert all(_active(conn).values())
    assert _load(conn, _text([]), full=False).rows == 0


def test_loader_never_commits_the_callers_transaction(conn: psycopg.Connection[Any]) -> None:
    load_instruments(conn, _text(instruments(30, 1)))
    conn.rollback()
    assert conn.execute("SELECT count(*) FROM instruments").fetchone() == (0,)


def test_autocommit_connection_is_refused(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        with pytest.raises(InstrumentDumpError, match="autocommit"):
            load_instruments(conn, _text(instruments(3, 1)))
        assert conn.execute("SELECT count(*) FROM instruments").fetchone() == (0,)


def test_progress_reports_bytes_sent(conn: psycopg.Connection[Any]) -> None:
    text = _text(instruments(2_000, 1))
    size = len(text.getvalue().encode())
    header = len(text.getvalue().splitlines()[0]) + 1
    seen: list[int] = []
    load_instruments(conn, text, progress=seen.append)
    assert seen
    assert seen == sorted(seen)
    assert seen[-1] == size - header
