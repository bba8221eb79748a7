"""Property: whatever dump is loaded, the database holds exactly its values."""

from __future__ import annotations

import io
from dataclasses import replace
from decimal import Decimal
from typing import Any

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphap.instrument_master import Instrument, instruments, write_dump
from persistence.instruments import load_instruments

_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


def _stored(conn: psycopg.Connection[Any]) -> dict[int, tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT instrument_token, exchange_token, tradingsymbol, name, last_price, expiry,"
        " strike, tick_size, lot_size, instrument_type, segment, exchange"
        " FROM instruments WHERE active"
    )
    return {r[0]: r for r in rows}


def _expected(rows: list[Instrument]) -> dict[int, tuple[Any, ...]]:
    return {
        i.instrument_token: (
            i.instrument_token,
            i.exchange_token,
            i.tradingsymbol,
            i.name,
            i.last_price,
            i.expiry,
            i.strike,
            i.tick_size,
            i.lot_size,
            i.instrument_type,
            i.segment,
            i.exchange,
        )
        for i in rows
    }


def _load(conn: psycopg.Connection[Any], rows: list[Instrument]) -> None:
    text = io.StringIO()
    write_dump(rows, text)
    text.seek(0)
    load_instruments(conn, text)
    conn.commit()


@_SETTINGS
@given(rows=st.integers(min_value=1, max_value=600), seed=st.integers(0, 2**32))
def test_any_generated_dump_round_trips_exactly(database_url: str, rows: int, seed: int) -> None:
    generated = instruments(rows, seed)
    with psycopg.connect(database_url) as conn:
        _load(conn, generated)
        stored = _stored(conn)
    assert stored == _expected(generated)
    assert all(isinstance(r[4], Decimal) for r in stored.values())


@_SETTINGS
@given(
    texts=st.lists(st.tuples(_TEXT.filter(bool), _TEXT), min_size=1, max_size=30),
    prices=st.lists(st.decimals(min_value=0, max_value=10**9, places=4), min_size=30, max_size=30),
)
def test_any_symbol_name_and_price_round_trip(
    database_url: str, texts: list[tuple[str, str]], prices: list[Decimal]
) -> None:
    base = instruments(len(texts), 1)
    rows = [
        replace(item, tradingsymbol=symbol, name=name, last_price=price)
        for item, (symbol, name), price in zip(base, texts, prices, strict=False)
    ]
    with psycopg.connect(database_url) as conn:
        _load(conn, rows)
        assert _stored(conn) == _expected(rows)
