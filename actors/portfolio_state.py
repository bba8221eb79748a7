"""A portfolio's state as its actor owns it: the accounting value plus its journal position.

Shared by the portfolio actor, the bulk warm start and the snapshot writer:
building the state from a snapshot row, replaying journaled fills over it, and
turning it back into a snapshot row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import structlog

from actors.accounting import STARTING_CASH, Portfolio
from actors.documents import OrderFilled, parse_journaled_fill
from actors.errors import AccountingError, InvalidDocumentError
from actors.messages import PortfolioKey
from persistence.repositories.events import JournaledEvent
from persistence.repositories.snapshots import Position, Snapshot, StoredState

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PortfolioState:
    """An immutable portfolio value with every journaled fill up to `last_journal_id` applied."""

    key: PortfolioKey
    portfolio: Portfolio
    last_journal_id: int = 0
    strategy_id: str = ""

    @classmethod
    def opened(cls, key: PortfolioKey, starting_cash: Decimal = STARTING_CASH) -> PortfolioState:
        """A portfolio that has never traded."""
        return cls(key, Portfolio.opened(starting_cash))

    @classmethod
    def from_stored(cls, key: PortfolioKey, stored: StoredState) -> PortfolioState:
        """The state a snapshot row holds (raises AccountingError on a malformed one)."""
        return cls(
            key,
            Portfolio.from_snapshot(stored.cash, stored.positions),
            stored.last_journal_id,
            stored.strategy_id,
        )

    @classmethod
    def from_snapshot(cls, key: PortfolioKey, snapshot: Snapshot) -> PortfolioState:
        """The state a stored snapshot holds."""
        positions = {
            token: {
                "quantity": position.quantity,
                "average_price": position.average_price,
                "realized_pnl": position.realized_pnl,
                "last_price": position.last_price,
                "priced_by_tick": position.priced_by_tick,
            }
            for token, position in snapshot.positions.items()
        }
        return cls(
            key,
            Portfolio.from_snapshot(snapshot.cash, positions),
            snapshot.last_journal_id,
            snapshot.strategy_id,
        )

    def applied(self, fill: OrderFilled, journal_id: int) -> PortfolioState:
        """The state after `fill` (journaled as `journal_id`); raises AccountingError."""
        return PortfolioState(
            self.key, self.portfolio.apply_fill(fill), journal_id, fill.strategy_id
        )

    def skipped(self, journal_id: int) -> PortfolioState:
        """The state unchanged but past `journal_id` (a fill that cannot be applied)."""
        return PortfolioState(self.key, self.portfolio, journal_id, self.strategy_id)

    def ticked(self, instrument_token: int, price: Decimal) -> PortfolioState:
        """The state after a market tick (unchanged for an instrument never traded)."""
        return self.repriced({instrument_token: price})

    def repriced(self, prices: Mapping[int, Decimal]) -> PortfolioState:
        """The state after these ticks (each instrument's last price wins)."""
        portfolio = self.portfolio.apply_ticks(prices)
        if portfolio is self.portfolio:
            return self
        return PortfolioState(self.key, portfolio, self.last_journal_id, self.strategy_id)

    def replayed(self, journaled: Iterable[JournaledEvent]) -> PortfolioState:
        """The state after the journaled fills newer than it, in journal order.

        A journaled fill that cannot be applied is skipped (and logged) exactly as
        the live path skips it, so recovery always reaches the same state.
        """
        state = self
        for entry in journaled:
            if entry.journal_id <= state.last_journal_id:
                continue
            try:
                fill = parse_journaled_fill(entry.event.event_data)
                state = state.applied(fill, entry.journal_id)
            except (InvalidDocumentError, AccountingError):
                log.exception(
                    "journaled_fill_skipped", portfolio=str(self.key), journal_id=entry.journal_id
                )
                state = state.skipped(entry.journal_id)
        return state

    def to_snapshot(self, now: datetime | None = None) -> Snapshot:
        """The snapshot row of this state."""
        fields = self.portfolio.to_snapshot_fields()
        return Snapshot(
            broker_namespace=self.key.broker_namespace,
            portfolio_id=self.key.portfolio_id,
            strategy_id=self.strategy_id,
            positions={
                token: Position.model_validate(position)
                for token, position in fields.positions.items()
            },
            cash=fields.cash,
            total_realized_pnl=fields.total_realized_pnl,
            total_unrealized_pnl=fields.total_unrealized_pnl,
            total_pnl=fields.total_pnl,
            last_journal_id=self.last_journal_id,
            snapshot_time=now or datetime.now(UTC),
        )

    def holdings(self) -> frozenset[int]:
        """The instruments this portfolio has traded (ticks reach closed positions too)."""
        return frozenset(self.portfolio.positions)
