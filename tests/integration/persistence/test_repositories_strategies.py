"""strategy_configurations: the flags the strategy cache loads."""

from __future__ import annotations

import psycopg

from persistence.repositories import strategies
from persistence.repositories.strategies import StrategyFlags
from persistence.uow import transaction


def test_load_all_maps_each_strategy_to_its_flags(database_url: str) -> None:
    with psycopg.connect(database_url) as conn, transaction(conn) as uow:
        assert strategies.load_all(uow.conn) == {}
        uow.conn.execute(
            """
            INSERT INTO strategy_configurations (strategy_id, is_active, zerodha_trading_enabled)
            VALUES ('momentum', TRUE, TRUE), ('meanrev', TRUE, FALSE), ('old', FALSE, FALSE)
            """
        )
        loaded = strategies.load_all(uow.conn)
    assert loaded == {
        "momentum": StrategyFlags(is_active=True, zerodha_trading_enabled=True),
        "meanrev": StrategyFlags(is_active=True, zerodha_trading_enabled=False),
        "old": StrategyFlags(is_active=False, zerodha_trading_enabled=False),
    }
