"""Bulk warm start: the recovered state of every snapshotted portfolio in two queries.

At start-up the daemon may load every snapshot (`snapshots.load_all`) and the
journaled fills after each (`events.fills_after_many`) at once, replay them
and hand each state to its portfolio actor's first `on_start`, instead of two
queries per actor. A state is taken once: later incarnations recover from the
database as usual. Portfolios without a snapshot are not prepared; their
actors recover on their own.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping

import structlog

from actors.messages import PortfolioKey
from actors.portfolio_state import PortfolioState
from persistence.pool import Pool
from persistence.repositories import events, snapshots
from persistence.repositories.events import JournaledEvent
from persistence.repositories.snapshots import Snapshot, SnapshotKey
from persistence.uow import unit_of_work

log = structlog.get_logger(__name__)


def prepare_states(
    stored: Mapping[SnapshotKey, Snapshot],
    fills: Mapping[SnapshotKey, Iterable[JournaledEvent]],
) -> dict[PortfolioKey, PortfolioState]:
    """Each snapshot's state with its later journaled fills replayed."""
    states: dict[PortfolioKey, PortfolioState] = {}
    for (namespace, portfolio_id), snapshot in stored.items():
        key = PortfolioKey(namespace, portfolio_id)
        state = PortfolioState.from_snapshot(key, snapshot)
        states[key] = state.replayed(fills.get((namespace, portfolio_id), ()))
    return states


class WarmStart:
    """Prepared portfolio states, each handed out once; thread-safe."""

    def __init__(self, states: Mapping[PortfolioKey, PortfolioState] | None = None) -> None:
        self._lock = threading.Lock()
        self._states = dict(states or {})

    @classmethod
    def load(cls, pool: Pool) -> WarmStart:
        """Load and replay every snapshotted portfolio (two queries, one transaction)."""
        started = time.perf_counter()
        with unit_of_work(pool) as uow:
            stored = snapshots.load_all(uow.conn)
            fills = events.fills_after_many(
                uow.conn, [(ns, pid, s.last_journal_id) for (ns, pid), s in stored.items()]
            )
        warm = cls(prepare_states(stored, fills))
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
