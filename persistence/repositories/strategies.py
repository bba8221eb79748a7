"""Strategy flags for the in-memory cache: is a strategy active, may it trade live."""

from __future__ import annotations

from typing import Any, NamedTuple

import psycopg


class StrategyFlags(NamedTuple):
    """The two flags the trading path asks about every order."""

    is_active: bool
    zerodha_trading_enabled: bool


def load_all(conn: psycopg.Connection[Any]) -> dict[str, StrategyFlags]:
    """strategy_id -> flags for every configured strategy."""
    rows = conn.execute(
        "SELECT strategy_id, is_active, zerodha_trading_enabled FROM strategy_configurations"
    ).fetchall()
    return {strategy_id: StrategyFlags(active, live) for strategy_id, active, live in rows}
