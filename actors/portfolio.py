"""One actor per portfolio: applies journaled fills exactly once and ticks, publishes its state.

Recovery (`on_start`, the single start-up path) takes, in this order:
1. the state the previous incarnation published in this process (`DirtySnapshots`),
   so a crash loses no tick, plus the fills journaled after it;
2. a state prepared by the bulk warm start (`actors.recovery.WarmStart`), once;
3. the stored snapshot plus the fills journaled after its `last_journal_id`.

`ApplyFill` with a journal id it has already passed is ignored, so redelivery
and replay never apply a fill twice. A fill the accounting cannot apply is
skipped (its journal id passed) and dead-lettered; replay skips it the same way.
After each change the new immutable state is published for the SnapshotWriter;
on passivation the actor writes its own snapshot, at stop only if the writer
has not taken its latest state.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog

from actors.accounting import STARTING_CASH
from actors.errors import AccountingError
from actors.holdings import HoldingsIndex
from actors.messages import (
    ApplyFill,
    PersistSnapshot,
    PortfolioKey,
    UpdateLastPrice,
    UpdateLastPrices,
)
from actors.portfolio_state import PortfolioState
from actors.recovery import WarmStart
from actors.snapshots import DirtySnapshots, write_snapshots
from persistence.pool import Pool
from persistence.repositories import events, snapshots
from persistence.uow import unit_of_work
from supervision import Reject, SupervisedActor

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class PortfolioDeps:
    """What every portfolio actor shares: the pool and the in-memory indexes."""

    pool: Pool
    dirty: DirtySnapshots
    holdings: HoldingsIndex
    warm: WarmStart | None = None
    starting_cash: Decimal = STARTING_CASH
    checkout_timeout: float = 10.0


class PortfolioActor(SupervisedActor):
    """The owner of one portfolio's state; see the module docstring."""

    def __init__(self, key: PortfolioKey, deps: PortfolioDeps) -> None:
        self.key = key
        self.deps = deps
        self.state = PortfolioState.opened(key, deps.starting_cash)
        self.recovered_from = "new"
        self.ignored = 0

    @classmethod
    def factory(cls, deps: PortfolioDeps) -> Callable[[Hashable], PortfolioActor]:
        """A KeyedSupervisor factory: `factory(deps)(PortfolioKey(...))`."""

        def build(key: Hashable) -> PortfolioActor:
            if not isinstance(key, PortfolioKey):
                raise TypeError(f"a portfolio key must be a PortfolioKey, not {key!r}")
            return cls(key, deps)

        return build

    # Recovery

    def on_start(self) -> None:
        deps, key = self.deps, self.key
        latest = deps.dirty.latest(key)
        if latest is not None:
            self.recovered_from = "memory"
            state = latest.replayed(self._fills_after(latest.last_journal_id))
        elif deps.warm is not None and (prepared := deps.warm.take(key)) is not None:
            self.recovered_from = "warm_start"
            latest = state = prepared
        else:
            state = self._recover_from_database()
        self.state = state
        if state is not latest:
            deps.dirty.publish(state)
        deps.holdings.add(key, state.holdings())

    def _recover_from_database(self) -> PortfolioState:
        key = self.key
        with unit_of_work(self.deps.pool, timeout=self.deps.checkout_timeout) as uow:
            stored = snapshots.get(uow.conn, key.broker_namespace, key.portfolio_id)
            after = 0 if stored is None else stored.last_journal_id
            fills = events.fills_after(uow.conn, key.broker_namespace, key.portfolio_id, after)
        if stored is None:
            self.recovered_from = "journal"
            state = PortfolioState.opened(key, self.deps.starting_cash)
        else:
            self.recovered_from = "snapshot"
            state = PortfolioState.from_snapshot(key, stored)
        return state.replayed(fills)

    def _fills_after(self, journal_id: int) -> list[events.JournaledEvent]:
        key = self.key
        with unit_of_work(self.deps.pool, timeout=self.deps.checkout_timeout) as uow:
            return events.fills_after(uow.conn, key.broker_namespace, key.portfolio_id, journal_id)

    # Messages

    def handle(self, message: Any) -> Any:
        if isinstance(message, ApplyFill):
            return self._apply(message)
        if isinstance(message, UpdateLastPrices):
            return self._prices(message)
        if isinstance(message, UpdateLastPrice):
            return self._tick(message)
        if isinstance(message, PersistSnapshot):
            self._write()
            return self.state.last_journal_id
        raise Reject(f"a portfolio cannot handle {type(message).__name__}")

    def _apply(self, message: ApplyFill) -> bool:
        fill, state = message.fill, self.state
        if (fill.broker_namespace, fill.portfolio_id) != (
            self.key.broker_namespace,
            self.key.portfolio_id,
        ):
            raise Reject(f"fill for {fill.broker_namespace}/{fill.portfolio_id} sent to {self.key}")
        if message.journal_id <= state.last_journal_id:
            self.ignored += 1
            return False
        try:
            updated = state.applied(fill, message.journal_id)
        except AccountingError as error:
            self._publish(state.skipped(message.journal_id))
            raise Reject(f"fill cannot be applied: {error}") from None
        self._publish(updated)
        if fill.instrument_token not in state.portfolio.positions:
            self.deps.holdings.add(self.key, (fill.instrument_token,))
        return True

    def _tick(self, message: UpdateLastPrice) -> bool:
        try:
            updated = self.state.ticked(message.instrument_token, message.last_price)
        except AccountingError as error:
            raise Reject(f"tick cannot be applied: {error}") from None
        if updated is self.state:
            return False
        self._publish(updated)
        return True

    def _prices(self, message: UpdateLastPrices) -> bool:
        try:
            state = self.state.repriced(message.prices)
        except AccountingError as error:
            raise Reject(f"tick cannot be applied: {error}") from None
        if state is self.state:
            return False
        self._publish(state)
        return True

    def _publish(self, state: PortfolioState) -> None:
        self.state = state
        self.deps.dirty.publish(state)

    # Persisting

    def _write(self) -> None:
        state = self.state
        write_snapshots(self.deps.pool, [state], timeout=self.deps.checkout_timeout)
        self.deps.dirty.written(state)

    def on_passivate(self) -> None:
        self._write()
        self._leave()

    def on_stop(self) -> None:
        if self.deps.dirty.take_one(self.key) is not None:
            self._write()
        self._leave()

    def _leave(self) -> None:
        self.deps.dirty.forget(self.key, self.state)
        self.deps.holdings.remove(self.key)

    def describe(self) -> dict[str, Any]:
        portfolio = self.state.portfolio
        return {
            "portfolio": str(self.key),
            "cash": str(portfolio.cash),
            "total_realized_pnl": str(portfolio.total_realized_pnl),
            "total_unrealized_pnl": str(portfolio.total_unrealized_pnl),
            "total_pnl": str(portfolio.total_pnl),
            "last_journal_id": self.state.last_journal_id,
            "recovered_from": self.recovered_from,
            "ignored_fills": self.ignored,
            "positions": {
                str(token): {
                    "quantity": p.quantity,
                    "average_price": str(p.average_price),
                    "realized_pnl": str(p.realized_pnl),
                    "last_price": str(p.last_price),
                }
                for token, p in sorted(portfolio.positions.items())
            },
        }
