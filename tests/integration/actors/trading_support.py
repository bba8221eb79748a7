"""Helpers for the journal, portfolio and snapshot tests: fills, pools, observed actors."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from actors.documents import OrderFilled
from actors.holdings import HoldingsIndex
from actors.journal import JournalActor, JournalBuffer, JournalConfig
from actors.messages import AppendToJournal, ApplyFill, PortfolioKey
from actors.portfolio import PortfolioActor, PortfolioDeps
from actors.recovery import WarmStart
from actors.snapshots import DirtySnapshots, SnapshotWriter, SnapshotWriterConfig
from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories import snapshots
from persistence.repositories.events import AppendResult, Event
from persistence.uow import unit_of_work
from supervision import ActorHandle, ChildSpec, FaultPlan, KeyedSupervisor, Supervisor
from tests.fixtures.reference_model import ReferencePortfolio, snapshot_from_row, without_prices
from tests.unit.supervision.support import MemorySink, fast_config

WAIT = 20.0
KEY = PortfolioKey("paper", "P1")
_minutes = itertools.count()


@contextmanager
def opened_pool(conninfo: str, **kwargs: Any) -> Iterator[Pool]:
    """A pool on `conninfo` that is closed (and its threads joined) afterwards."""
    options: dict[str, Any] = {"min_size": 1, "max_size": 4, "timeout": 5.0}
    options.update(kwargs)
    pool = open_pool(PoolConfig(conninfo=conninfo, **options))
    try:
        yield pool
    finally:
        pool.close()


def fill(  # noqa: PLR0917 - tests read best as fill(token, side, quantity, price)
    token: int = 5,
    side: str = "BUY",
    quantity: int = 1,
    price: str | Decimal = "100",
    fees: str | Decimal = "0",
    key: PortfolioKey = KEY,
    event_id: UUID | None = None,
) -> OrderFilled:
    """An order fill for `key` (a fresh event id unless given)."""
    return OrderFilled.model_validate(
        {
            "event_id": event_id or uuid4(),
            "broker_namespace": key.broker_namespace,
            "portfolio_id": key.portfolio_id,
            "strategy_id": "S1",
            "instrument_token": token,
            "side": side,
            "quantity": quantity,
            "price": Decimal(price),
            "fees": Decimal(fees),
            "filled_at": datetime(2026, 1, 5, 9, 15, tzinfo=UTC),
        }
    )


def event_of(document: OrderFilled) -> Event:
    """The journal event of a fill, as the ingress builds it."""
    return Event(**document.to_journal_record())


def other_event(**overrides: Any) -> Event:
    """A trading_event that is not a fill."""
    values: dict[str, Any] = {
        "event_id": uuid4(),
        "event_type": "risk_check",
        "broker_namespace": "paper",
        "event_timestamp": datetime(2026, 1, 5, 9, 16, next(_minutes) % 60, tzinfo=UTC),
        "event_data": {"ok": True},
    }
    values.update(overrides)
    return Event(**values)


def request(journal: ActorHandle, *events: Event) -> Future[list[AppendResult]]:
    """Tell the journal to append `events`; the future resolves once they are committed."""
    reply: Future[list[AppendResult]] = Future()
    journal.tell(AppendToJournal(events=events, reply=reply))
    return reply


def append(journal: ActorHandle, *events: Event) -> list[AppendResult]:
    """Append and wait for the commit."""
    return request(journal, *events).result(WAIT)


def stored_event_ids(pool: Pool) -> list[tuple[UUID, int]]:
    """(event_id, journal_id) of every journaled event, in journal order."""
    with unit_of_work(pool) as uow:
        rows = uow.conn.execute(
            "SELECT event_id, journal_id FROM trading_events ORDER BY journal_id"
        ).fetchall()
    return [(event_id, journal_id) for event_id, journal_id in rows]


def stored_snapshot(pool: Pool, key: PortfolioKey = KEY) -> snapshots.Snapshot | None:
    """The stored snapshot of `key`."""
    with unit_of_work(pool) as uow:
        return snapshots.get(uow.conn, key.broker_namespace, key.portfolio_id)


def as_reference(snapshot: snapshots.Snapshot, *, prices: bool = True) -> dict[str, Any]:
    """A stored snapshot in the reference model's shape (without last prices if not `prices`)."""
    shaped = snapshot_from_row(
        snapshot.cash,
        snapshot.total_realized_pnl,
        snapshot.total_unrealized_pnl,
        snapshot.total_pnl,
        {t: p.model_dump() for t, p in snapshot.positions.items()},
    )
    return shaped if prices else without_prices(shaped)


def reference_of(*fills: OrderFilled) -> ReferencePortfolio:
    """The reference model after `fills`."""
    model = ReferencePortfolio()
    for document in fills:
        model.apply(document)
    return model


class Signals:
    """A condition variable over a dict of counters, for observed actors."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._changed = threading.Condition()

    def bump(self, name: str) -> None:
        with self._changed:
            self.counts[name] = self.counts.get(name, 0) + 1
            self._changed.notify_all()

    def wait(self, name: str, times: int = 1, timeout: float = WAIT) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.counts.get(name, 0) >= times, timeout):
                raise AssertionError(f"{name} did not happen {times} times: {self.counts}")


def observed_journal(
    pool: Pool,
    signals: Signals,
    config: JournalConfig,
    myself: Callable[[], ActorHandle] | None,
) -> Callable[[], JournalActor]:
    """A journal factory whose incarnations report degraded changes and flushes."""
    buffer = JournalBuffer()

    class ObservedJournal(JournalActor):
        def set_degraded(self, degraded: bool = True) -> None:
            if degraded != self.context.degraded:
                signals.bump("degraded" if degraded else "recovered")
            super().set_degraded(degraded)

    return lambda: ObservedJournal(pool, config, myself, buffer)


def observed_writer(writer: Callable[[], SnapshotWriter], signals: Signals) -> SnapshotWriter:
    """A snapshot writer that reports each flush."""
    instance = writer()
    original = instance.flush

    def flush() -> int:
        written = original()
        signals.bump("flush")
        return written

    instance.flush = flush  # type: ignore[method-assign]
    return instance


@dataclass
class Trading:
    """A journal, keyed portfolios and a snapshot writer under one root, wired like the daemon."""

    root: Supervisor
    dirty: DirtySnapshots
    holdings: HoldingsIndex

    @property
    def journal(self) -> ActorHandle:
        return self.root.ref("journal")

    @property
    def writer(self) -> ActorHandle:
        return self.root.ref("snapshots")

    @property
    def portfolios(self) -> KeyedSupervisor:
        keyed = self.root.subtree("portfolios")
        assert isinstance(keyed, KeyedSupervisor)
        return keyed

    def descriptions(self) -> dict[str, dict[str, Any]]:
        """Each live portfolio's describe(), by key."""
        found: dict[str, dict[str, Any]] = {}
        for child in self.portfolios.tree().children:
            description = getattr(child, "description", None)
            if description is not None:
                found[description["portfolio"]] = description
        return found


def trading_tree(
    pool: Pool,
    *,
    sink: MemorySink | None = None,
    warm: WarmStart | None = None,
    faults: FaultPlan | None = None,
    idle_after: float | None = None,
    snapshot_interval: float = 3600.0,
    journal: JournalConfig | None = None,
    max_attempts: int = 3,
) -> Trading:
    """Build and start the tree (stop it with `trading.root.stop()`)."""
    holder: dict[str, Supervisor] = {}
    dirty, holdings = DirtySnapshots(), HoldingsIndex()
    deps = PortfolioDeps(pool, dirty, holdings, warm)
    root = Supervisor(
        "root",
        [
            ChildSpec(
                "journal",
                JournalActor.factory(
                    pool,
                    journal or JournalConfig(max_delay_ms=2),
                    lambda: holder["root"].ref("journal"),
                ),
            ),
            ChildSpec(
                "portfolios",
                lambda: KeyedSupervisor(
                    "portfolios",
                    PortfolioActor.factory(deps),
                    idle_after=idle_after,
                    sweep_interval=0.02 if idle_after else None,
                    max_attempts=max_attempts,
                    max_restarts=1000,
                ),
                subtree=True,
            ),
            ChildSpec(
                "snapshots",
                lambda: SnapshotWriter(
                    pool,
                    dirty,
                    SnapshotWriterConfig(interval=snapshot_interval),
                    lambda: holder["root"].ref("snapshots"),
                ),
            ),
        ],
        config=fast_config(sink or MemorySink()),
        faults=faults,
        max_restarts=1000,
    )
    holder["root"] = root
    root.start()
    return Trading(root, dirty, holdings)


def journal_fill(trading: Trading, document: OrderFilled) -> AppendResult:
    """Journal a fill and, if new, apply it (the way the ingress does); returns its result."""
    [result] = append(trading.journal, event_of(document))
    if result.inserted:
        key = PortfolioKey(document.broker_namespace, document.portfolio_id)
        trading.portfolios.ask(key, ApplyFill(fill=document, journal_id=result.journal_id), WAIT)
    return result
