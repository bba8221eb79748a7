"""`alphap demo`'s data: instruments, demo strategies and a scripted ingress stream.

Everything the demo writes is its own: portfolios and strategies named `demo-*`,
event ids derived from fixed names (so a second run is journaled as duplicates
and leaves every portfolio as it was), and a Redis prefix of its own. The
instrument master is loaded only into an empty table: from a real Kite dump in
../shared/kite-dumps when this is a clone that has one, else from the small
invented dump shipped in alphap/data.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

import psycopg
import redis

from actors.stream import GROUP, stream_key
from persistence.instruments import LoadResult, load_instruments

DEMO_NAMESPACE = uuid.UUID("6f1c2a9e-5d4b-4c1e-9a7f-3b2d1e0c9a88")
SHARED_DUMPS = Path(__file__).resolve().parents[1].parent / "shared" / "kite-dumps"
PREFERRED_SYMBOLS = ("RELIANCE", "INFY", "TCS", "HDFCBANK")
BASE_PRICES = (Decimal("1412.50"), Decimal("1510.00"), Decimal("3095.40"), Decimal("962.00"))
FUTURE_PRICE = Decimal("24150.00")
STRATEGIES = (
    ("demo-momentum", "Demo momentum", False),
    ("demo-meanrev", "Demo mean reversion", False),
    ("demo-live", "Demo live (zerodha)", True),
)
PORTFOLIOS = ("paper/demo-momentum", "paper/demo-meanrev", "zerodha/demo-live")
MALFORMED = '{"type": "order_filled", "portfolio_id": "demo-momentum", "quantity": -5}'


@dataclass(frozen=True)
class Instrument:
    """An instrument the demo trades."""

    token: int
    symbol: str
    lot: int


@contextmanager
def instrument_dump() -> Iterator[tuple[Path, str]]:
    """The dump to load and where it comes from."""
    real = sorted(SHARED_DUMPS.glob("*.csv")) if SHARED_DUMPS.is_dir() else []
    if real:
        yield real[0], f"the Kite dump {real[0].name}"
        return
    with as_file(files("alphap") / "data" / "demo_instruments.csv") as path:
        yield path, "alphap's demo instruments"


def load_demo_instruments(conn: psycopg.Connection[Any]) -> tuple[LoadResult | None, str]:
    """Load a dump into an empty instrument master (never over a real one)."""
    row = conn.execute("SELECT count(*) FROM instruments").fetchone()
    existing = int(row[0]) if row else 0
    if existing:
        return None, f"instrument master already holds {existing} instruments; not loading"
    with instrument_dump() as (path, source), conn.transaction():
        result = load_instruments(conn, path, full=False, skip_invalid=True)
    return result, f"loaded {result.inserted} instruments from {source}"


def pick_instruments(conn: psycopg.Connection[Any]) -> tuple[list[Instrument], Instrument | None]:
    """Four NSE equities (well-known ones first) and an NFO future if the master has one."""
    rows = conn.execute(
        "SELECT instrument_token, tradingsymbol, lot_size FROM instruments"
        " WHERE active AND exchange = 'NSE' AND instrument_type = 'EQ'"
        " ORDER BY array_position(%s::text[], tradingsymbol) NULLS LAST, instrument_token"
        " LIMIT 4",
        (list(PREFERRED_SYMBOLS),),
    ).fetchall()
    future = conn.execute(
        "SELECT instrument_token, tradingsymbol, lot_size FROM instruments"
        " WHERE active AND exchange = 'NFO' AND instrument_type = 'FUT'"
        " ORDER BY instrument_token LIMIT 1"
    ).fetchone()
    equities = [Instrument(int(t), str(s), max(1, int(lot))) for t, s, lot in rows]
    fut = Instrument(int(future[0]), str(future[1]), max(1, int(future[2]))) if future else None
    return equities, fut


def upsert_strategies(conn: psycopg.Connection[Any]) -> None:
    """The demo's strategies; demo-live may trade in the zerodha namespace."""
    with conn.transaction():
        for strategy_id, name, live in STRATEGIES:
            conn.execute(
                "INSERT INTO strategy_configurations"
                " (strategy_id, name, strategy_type, is_active, zerodha_trading_enabled)"
                " VALUES (%s, %s, 'demo', TRUE, %s)"
                " ON CONFLICT (strategy_id) DO UPDATE SET is_active = TRUE,"
                " zerodha_trading_enabled = EXCLUDED.zerodha_trading_enabled, updated_at = now()",
                (strategy_id, name, live),
            )


def _event_id(name: str) -> str:
    return str(uuid.uuid5(DEMO_NAMESPACE, name))


def script(equities: list[Instrument], future: Instrument | None) -> list[str]:
    """The scripted session as the JSON texts a producer appends, the malformed one included."""
    if len(equities) < 4:
        raise ValueError("the instrument master needs at least four active NSE equities")
    a, b, c, d = equities
    start = datetime.now(UTC).replace(microsecond=0)
    clock = iter(start + timedelta(seconds=7 * n) for n in range(100))

    def fill(name: str, pid: str, inst: Instrument, qty: int, px: Decimal) -> Any:
        """A fill of `qty` (negative: a sale) in demo-live's zerodha or else the paper namespace."""
        return {
            "type": "order_filled",
            "event_id": _event_id(name),
            "broker_namespace": "zerodha" if pid == "demo-live" else "paper",
            "portfolio_id": pid,
            "strategy_id": pid,
            "instrument_token": inst.token,
            "side": "BUY" if qty > 0 else "SELL",
            "quantity": abs(qty),
            "price": str(px),
            "fees": str((px * abs(qty) * Decimal("0.0003")).quantize(Decimal("0.01"))),
            "filled_at": next(clock).isoformat(),
            "order_id": f"{name}-order",
        }

    def tick(inst: Instrument, px: str) -> Any:
        return {
            "type": "market_tick",
            "instrument_token": inst.token,
            "last_price": px,
            "timestamp": next(clock).isoformat(),
        }

    pa, pb, pc, pd = BASE_PRICES
    documents: list[Any] = [
        {
            "type": "trading_event",
            "event_id": _event_id("live-order-placed"),
            "event_type": "order_placed",
            "broker_namespace": "zerodha",
            "strategy_id": "demo-live",
            "instrument_token": d.token,
            "event_timestamp": next(clock).isoformat(),
            "event_data": {"order_id": "live-1-order", "side": "BUY", "quantity": 10},
        },
        fill("momentum-1", "demo-momentum", a, 100, pa),
        fill("momentum-2", "demo-momentum", b, 50, pb),
        fill("meanrev-1", "demo-meanrev", c, 200, pc),
        fill("live-1", "demo-live", d, 10, pd),
        tick(a, str(pa + Decimal("3.10"))),
        tick(c, str(pc + Decimal("1.70"))),
        MALFORMED,
        fill("momentum-3", "demo-momentum", a, -40, pa + Decimal("5.70")),
        fill("meanrev-2", "demo-meanrev", c, -200, pc + Decimal("1.70")),
        tick(b, str(pb - Decimal("12.40"))),
        tick(d, str(pd + Decimal("18.25"))),
    ]
    if future is not None:
        documents.append(fill("meanrev-3", "demo-meanrev", future, future.lot, FUTURE_PRICE))
        documents.append(tick(future, str(FUTURE_PRICE + Decimal("42.50"))))
    documents.append(tick(a, str(pa + Decimal("4.25"))))
    return [d if isinstance(d, str) else json.dumps(d) for d in documents]


def append(client: redis.Redis, prefix: str, documents: list[str]) -> list[str]:
    """XADD each document to `<prefix>:ingress`; the entry ids in order."""
    pipe = client.pipeline(transaction=False)
    for document in documents:
        pipe.xadd(stream_key(prefix), {"data": document})
    return [i.decode() if isinstance(i, bytes) else str(i) for i in pipe.execute()]


def _entry(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def acknowledged(client: redis.Redis, prefix: str, last_entry: str) -> bool:
    """True once the consumer group delivered up to `last_entry` and nothing is pending."""
    try:
        groups = client.xinfo_groups(stream_key(prefix))
    except redis.ResponseError:
        return False
    for group in groups:
        name = group["name"]
        if (name.decode() if isinstance(name, bytes) else name) != GROUP:
            continue
        delivered = group["last-delivered-id"]
        delivered = delivered.decode() if isinstance(delivered, bytes) else str(delivered)
        return int(group["pending"]) == 0 and _entry(delivered) >= _entry(last_entry)
    return False


def wait_acknowledged(
    client: redis.Redis, prefix: str, last_entry: str, timeout: float, cancel: threading.Event
) -> bool:
    """Poll the group until everything is acknowledged; False on timeout or cancel."""
    end = time.monotonic() + timeout
    while not acknowledged(client, prefix, last_entry):
        if time.monotonic() > end or cancel.wait(0.1):
            return False
    return True
