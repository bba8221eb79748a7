"""Bulk warm start: the recovered state of every snapshotted portfolio in two queries.

At start-up the daemon may load every snapshot (`snapshots.load_all_states`) and the
journaled fills after each (`events.fills_after_many`) at once, replay them
and hand each state to its portfolio actor's first `on_start`, instead of two
queries per actor. A state is taken once: later incarnations recover from the
database as usual.

Portfolios with journaled fills but no snapshot (the process died before their
first one) are prepared from the journal alone. A prepared state that replayed
fills is newer than its stored snapshot: `take_stale()` hands those out so the
daemon writes them at once, since a portfolio that never trades again would
otherwise keep a stale snapshot (or none) until it does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from decimal import Decimal

import structlog

from actors.accounting import STARTING_CASH
from actors.errors import AccountingError
from actors.messages import PortfolioKey
from actors.portfolio_state import PortfolioState
from persistence.pool import Pool
from persistence.repositories import events, snapshots
from persistence.repositories.events import JournaledEvent
from persistence.repositories.snapshots import SnapshotKey, StoredState
from persistence.uow import unit_of_work

log = structlog.get_logger(__name__)


def prepare_states(
    stored: Mapping[SnapshotKey, StoredState],
    fills: Mapping[SnapshotKey, Iterable[JournaledEvent]],
    starting_cash: Decimal = STARTING_CASH,
) -> dict[PortfolioKey, PortfolioState]:
    """Each snapshot's state with its later journaled fills replayed; without one, the fills'."""
    states: dict[PortfolioKey, PortfolioState] = {}
    for (namespace, portfolio_id), journaled in fills.items():
        key = PortfolioKey(namespace, portfolio_id)
        snapshot = stored.get((namespace, portfolio_id))
        try:
            state = (
                PortfolioState.opened(key, starting_cash)
                if snapshot is None
                else PortfolioState.from_stored(key, snapshot)
            )
        except AccountingError as error:
            raise AccountingError(f"the stored snapshot of {key} is malformed: {error}") from None
        states[key] = state.replayed(journaled)
    return states


class WarmStart:
    """Prepared portfolio states, each handed out once; thread-safe."""

    def __init__(
        self,
        states: Mapping[PortfolioKey, PortfolioState] | None = None,
        stale: Iterable[PortfolioKey] = (),
    ) -> None:
        self._lock = threading.Lock()
        self._states = dict(states or {})
        self._stale = [key for key in stale if key in self._states]

    @classmethod
    def load(cls, pool: Pool, starting_cash: Decimal = STARTING_CASH) -> WarmStart:
        """Load and replay every portfolio with a snapshot or a journaled fill (one transaction)."""
        started = time.perf_counter()
        with unit_of_work(pool) as uow:
            stored = snapshots.load_all_states(uow.conn)
            positions = [(ns, pid, s.last_journal_id) for (ns, pid), s in stored.items()]
            positions += [(ns, pid, 0) for ns, pid in events.unsnapshotted_portfolios(uow.conn)]
            fills = events.fills_after_many(uow.conn, positions)
        stale = [PortfolioKey(ns, pid) for (ns, pid), replayed in fills.items() if replayed]
        warm = cls(prepare_states(stored, fills, starting_cash), stale)
        log.info(
            "portfolios_warm_started",
            portfolios=len(warm),
            replayed=sum(len(f) for f in fills.values()),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return warm

    def take(self, key: PortfolioKey) -> PortfolioState | None:
        """The prepared state of `key`, once; None if there is none (any more)."""
        with self._lock:
            return self._states.pop(key, None)

    def take_stale(self) -> list[PortfolioState]:
        """The prepared states newer than their stored snapshot (or with none), once."""
        with self._lock:
            stale, self._stale = self._stale, []
            return [self._states.pop(key) for key in stale if key in self._states]

    def holdings(self) -> list[tuple[PortfolioKey, frozenset[int]]]:
        """Each waiting portfolio with the instruments it has traded, for the holdings index."""
        with self._lock:
            return [(key, state.holdings()) for key, state in self._states.items()]

    def keys(self) -> list[PortfolioKey]:
        """The portfolios whose state is still waiting to be taken."""
        with self._lock:
            return list(self._states)

    def __len__(self) -> int:
        with self._lock:
            return len(self._states)
