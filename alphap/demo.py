"""`alphap demo`'s world: a generated instrument master and the paper portfolios that trade it.

The instrument master is the project's own (alphap.instrument_master, dated
today so no contract has expired), loaded only into an empty table, never over
a real one. The demo's strategies and portfolios are named `demo-*` and trade
in the paper namespace: no Kite account is involved.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg

from actors.messages import PortfolioKey
from alphap.instrument_master import instruments, write_dump
from persistence.instruments import load_instruments

PAPER = "paper"
MASTER_ROWS = 20_000
MASTER_SEED = 7
EQUITY_SYMBOLS = ("RELIANCE", "INFY", "TCS", "HDFCBANK")
FUTURE_NAMES = ("NIFTY", "BANKNIFTY")
FALLBACK_PRICE = Decimal(1000)
FALLBACK_TICK = Decimal("0.05")
PAUSED_STRATEGY = "demo-paused"


@dataclass(frozen=True)
class Instrument:
    """An instrument the demo trades, with the price its simulated market starts from."""

    token: int
    symbol: str
    lot: int
    price: Decimal
    tick: Decimal


@dataclass(frozen=True)
class DemoPortfolio:
    """One paper portfolio, traded by the strategy of the same id."""

    portfolio_id: str
    name: str
    instruments: tuple[Instrument, ...]

    @property
    def key(self) -> PortfolioKey:
        return PortfolioKey(PAPER, self.portfolio_id)


def load_master(conn: psycopg.Connection[Any], today: date) -> str:
    """Load the generated master into an empty table; what was done, in words."""
    row = conn.execute("SELECT count(*) FROM instruments").fetchone()
    existing = int(row[0]) if row else 0
    if existing:
        return f"instrument master already holds {existing} instruments; not loading"
    dump = io.StringIO()
    write_dump(instruments(MASTER_ROWS, MASTER_SEED, as_of=today), dump)
    dump.seek(0)
    with conn.transaction():
        result = load_instruments(conn, dump, full=False, skip_invalid=True)
    return (
        f"loaded {result.inserted} generated instruments "
        "(NSE and BSE equities, NFO and BFO futures and options, MCX, CDS)"
    )


def _instrument(row: tuple[Any, ...]) -> Instrument:
    token, symbol, lot, price, tick = row
    price = Decimal(price) if price and Decimal(price) > 0 else FALLBACK_PRICE
    tick = Decimal(tick) if tick and Decimal(tick) > 0 else FALLBACK_TICK
    return Instrument(int(token), str(symbol), max(1, int(lot)), price, tick)


def pick_instruments(
    conn: psycopg.Connection[Any], today: date
) -> tuple[list[Instrument], list[Instrument]]:
    """Four NSE equities (the well-known ones first) and up to two nearest NFO index futures."""
    equities = conn.execute(
        "SELECT instrument_token, tradingsymbol, lot_size, last_price, tick_size FROM instruments"
        " WHERE active AND exchange = 'NSE' AND instrument_type = 'EQ'"
        " ORDER BY array_position(%s::text[], tradingsymbol) NULLS LAST, instrument_token"
        " LIMIT 4",
        (list(EQUITY_SYMBOLS),),
    ).fetchall()
    futures = conn.execute(
        "SELECT DISTINCT ON (name) instrument_token, tradingsymbol, lot_size, last_price,"
        " tick_size FROM instruments WHERE active AND exchange = 'NFO'"
        " AND instrument_type = 'FUT' AND name = ANY(%s) AND expiry >= %s"
        " ORDER BY name, expiry",
        (list(FUTURE_NAMES), today),
    ).fetchall()
    return [_instrument(r) for r in equities], [_instrument(r) for r in futures]


def portfolios(equities: list[Instrument], futures: list[Instrument]) -> list[DemoPortfolio]:
    """The three demo portfolios: two in equities, one in index futures (or equities)."""
    if len(equities) < 4:
        raise ValueError("the instrument master needs at least four active NSE equities")
    return [
        DemoPortfolio("demo-momentum", "Demo momentum", (equities[0], equities[1])),
        DemoPortfolio("demo-meanrev", "Demo mean reversion", (equities[2], equities[3])),
        DemoPortfolio("demo-futures", "Demo index futures", tuple(futures) or (equities[0],)),
    ]


def upsert_strategies(conn: psycopg.Connection[Any], books: list[DemoPortfolio]) -> None:
    """Each portfolio's active paper strategy, and an inactive one whose fills are refused."""
    rows = [(b.portfolio_id, b.name, True) for b in books]
    rows.append((PAUSED_STRATEGY, "Demo paused (fills refused)", False))
    with conn.transaction():
        for strategy_id, name, active in rows:
            conn.execute(
                "INSERT INTO strategy_configurations"
                " (strategy_id, name, strategy_type, is_active, zerodha_trading_enabled)"
                " VALUES (%s, %s, 'demo', %s, FALSE)"
                " ON CONFLICT (strategy_id) DO UPDATE SET is_active = EXCLUDED.is_active,"
                " zerodha_trading_enabled = FALSE, updated_at = now()",
                (strategy_id, name, active),
            )
