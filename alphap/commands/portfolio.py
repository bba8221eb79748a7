"""`alphap portfolio list` and `alphap portfolio show`: the latest portfolio snapshots.

Reads what the daemon last wrote (persistence.repositories.snapshots); it does
not ask the running daemon, so figures are as of each snapshot's time.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import psycopg

from actors.messages import PortfolioKey
from alphap.database import database_pool
from alphap.errors import AlphapError
from alphap.output import emit_json, say
from alphap.settings import Settings
from alphap.wiring import server_urls
from persistence import schema
from persistence.errors import PersistenceError
from persistence.repositories import snapshots
from persistence.repositories.snapshots import Position, Snapshot

_POSITION_COLUMNS = ("token", "symbol", "quantity", "average", "realized", "last", "unrealized")


def register(subparsers: Any) -> None:
    portfolio = subparsers.add_parser("portfolio", help="portfolios as last snapshotted")
    sub = portfolio.add_subparsers(dest="portfolio_command", metavar="COMMAND", required=True)
    listing = sub.add_parser(
        "list",
        help="one line per portfolio",
        description="Each portfolio's cash, total P&L, positions and snapshot time.",
    )
    listing.add_argument("--json", action="store_true", help="print JSON (decimals as strings)")
    listing.set_defaults(handler=run_list)
    show = sub.add_parser(
        "show",
        help="one portfolio's positions and totals",
        description="The positions of one portfolio as of its latest snapshot, with totals.",
    )
    show.add_argument("portfolio", metavar="NAMESPACE/PORTFOLIO_ID", help="e.g. paper/alpha-1")
    show.add_argument("--json", action="store_true", help="print JSON (decimals as strings)")
    show.set_defaults(handler=run_show)


def _read(settings: Settings, work: Any) -> Any:
    try:
        with server_urls(settings, need_redis=False) as urls:
            schema.ensure_at_head(urls.database)
            with database_pool(settings, urls.database) as pool, pool.connection() as conn:
                return work(conn)
    except PersistenceError as exc:
        raise AlphapError(str(exc)) from None


def _symbols(conn: psycopg.Connection[Any], tokens: Iterable[str]) -> dict[str, str]:
    numbers = sorted({int(t) for t in tokens if t.isdigit()})
    if not numbers:
        return {}
    rows = conn.execute(
        "SELECT instrument_token, exchange, tradingsymbol FROM instruments"
        " WHERE instrument_token = ANY(%s)",
        (numbers,),
    ).fetchall()
    return {str(token): f"{exchange}:{symbol}" for token, exchange, symbol in rows}


def unrealized(position: Position) -> Decimal:
    """(last price - average price) * quantity, as ARCHITECTURE.md defines it."""
    return (position.last_price - position.average_price) * position.quantity


def plain(value: Decimal) -> str:
    """A decimal in positional notation: 0.00000000, never 0E-8."""
    return format(value, "f")


def _summary(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "portfolio": str(PortfolioKey(snapshot.broker_namespace, snapshot.portfolio_id)),
        "broker_namespace": snapshot.broker_namespace,
        "portfolio_id": snapshot.portfolio_id,
        "strategy_id": snapshot.strategy_id,
        "cash": plain(snapshot.cash),
        "total_realized_pnl": plain(snapshot.total_realized_pnl),
        "total_unrealized_pnl": plain(snapshot.total_unrealized_pnl),
        "total_pnl": plain(snapshot.total_pnl),
        "positions": len(snapshot.positions),
        "open_positions": sum(1 for p in snapshot.positions.values() if p.quantity),
        "last_journal_id": snapshot.last_journal_id,
        "snapshot_time": snapshot.snapshot_time.isoformat(),
    }


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    found: list[Snapshot] = _read(settings, snapshots.list_snapshots)
    if args.json:
        emit_json([_summary(s) for s in found])
        return 0
    if not found:
        say("no portfolio snapshots yet")
        return 0
    rows = [
        [
            str(PortfolioKey(s.broker_namespace, s.portfolio_id)),
            plain(s.cash),
            plain(s.total_pnl),
            str(len(s.positions)),
            s.snapshot_time.isoformat(timespec="seconds"),
        ]
        for s in found
    ]
    _table(("portfolio", "cash", "total_pnl", "positions", "snapshot_time"), rows)
    return 0


def run_show(settings: Settings, args: argparse.Namespace) -> int:
    try:
        key = PortfolioKey.parse(args.portfolio)
    except ValueError as exc:
        raise AlphapError(str(exc)) from None

    def read(conn: psycopg.Connection[Any]) -> tuple[Snapshot | None, dict[str, str]]:
        snapshot = snapshots.get(conn, key.broker_namespace, key.portfolio_id)
        return snapshot, _symbols(conn, snapshot.positions if snapshot else ())

    snapshot, symbols = _read(settings, read)
    if snapshot is None:
        raise AlphapError(
            f"no portfolio {key}: no snapshot of it exists (see `alphap portfolio list`)"
        )
    positions = sorted(snapshot.positions.items(), key=lambda item: _token_order(item[0]))
    if args.json:
        emit_json(
            {
                **_summary(snapshot),
                "positions": [
                    {
                        "instrument_token": token,
                        "tradingsymbol": symbols.get(token),
                        "quantity": position.quantity,
                        "average_price": plain(position.average_price),
                        "realized_pnl": plain(position.realized_pnl),
                        "last_price": plain(position.last_price),
                        "unrealized_pnl": plain(unrealized(position)),
                    }
                    for token, position in positions
                ],
            }
        )
        return 0
    say(f"portfolio {key}  (strategy {snapshot.strategy_id or '-'})")
    taken = snapshot.snapshot_time.isoformat(timespec="seconds")
    say(f"snapshot {taken}, journal id {snapshot.last_journal_id}")
    if positions:
        rows = [
            [
                token,
                symbols.get(token, ""),
                str(p.quantity),
                plain(p.average_price),
                plain(p.realized_pnl),
                plain(p.last_price),
                plain(unrealized(p)),
            ]
            for token, p in positions
        ]
        _table(_POSITION_COLUMNS, rows)
    else:
        say("no positions")
    say(
        f"cash {plain(snapshot.cash)}  realized {plain(snapshot.total_realized_pnl)}  "
        f"unrealized {plain(snapshot.total_unrealized_pnl)}  total pnl {plain(snapshot.total_pnl)}"
    )
    return 0


def _token_order(token: str) -> tuple[int, str]:
    return (int(token), "") if token.isdigit() else (0, token)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    text_columns = {0, 1} if header is _POSITION_COLUMNS else {0}

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i in text_columns else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    say(line(header))
    for row in rows:
        say(line(row))
