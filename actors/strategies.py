"""The strategy directory: which strategies may have their fills journaled, cached in memory.

Refreshed from `strategy_configurations` every few seconds, never queried per
fill. While the database cannot be read the last good copy stays in use.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import structlog

from actors.documents import OrderFilled
from persistence.pool import Pool
from persistence.repositories import strategies
from persistence.repositories.strategies import StrategyFlags

log = structlog.get_logger(__name__)

LIVE_NAMESPACE = "zerodha"

Loader = Callable[[], dict[str, StrategyFlags]]


def pool_loader(pool: Pool, timeout: float = 5.0) -> Loader:
    """Load every strategy's flags through a pool connection."""

    def load() -> dict[str, StrategyFlags]:
        with pool.connection(timeout=timeout) as conn:
            return strategies.load_all(conn)

    return load


class StrategyDirectory:
    """strategy_id -> flags, refreshed at most every `refresh_seconds` (used by one thread)."""

    def __init__(self, loader: Loader, refresh_seconds: float) -> None:
        self._loader = loader
        self._refresh_seconds = refresh_seconds
        self._flags: dict[str, StrategyFlags] = {}
        self._loaded_at: float | None = None
        self.refresh_failures = 0

    def refresh(self) -> bool:
        """Load the flags now; False (keeping the old copy) when the database fails."""
        try:
            flags = self._loader()
        except (psycopg.Error, OSError) as exc:
            self.refresh_failures += 1
            log.warning("strategies_refresh_failed", error=type(exc).__name__)
            return False
        self._flags = flags
        self._loaded_at = time.monotonic()
        return True

    def refresh_if_due(self) -> None:
        """Refresh when the copy is older than `refresh_seconds` (or was never loaded)."""
        loaded = self._loaded_at
        if loaded is None or time.monotonic() - loaded >= self._refresh_seconds:
            self.refresh()

    def refusal(self, fill: OrderFilled) -> str | None:
        """Why this fill must not be journaled, or None when it may."""
        flags = self._flags.get(fill.strategy_id)
        if flags is not None and not flags.is_active:
            return f"strategy {fill.strategy_id} is not active"
        if fill.broker_namespace == LIVE_NAMESPACE and (
            flags is None or not flags.zerodha_trading_enabled
        ):
            return f"strategy {fill.strategy_id} is not enabled for zerodha trading"
        return None

    def __len__(self) -> int:
        return len(self._flags)
