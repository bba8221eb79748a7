"""Exactly-once effects under crashes: journal + portfolio actors against the reference model.

Random fills, duplicate deliveries, redelivered applies and ticks for a few
portfolios run through the journal and the portfolio actors the way the
ingress drives them (append, then ApplyFill for a new event), while faults
strike: a portfolio or the journal raising on its Nth message, a portfolio
failing its start-up, and whole-process crashes (every database write stops at
once, the tree stops without its final snapshots, a new one starts, sometimes
from the bulk warm start). At the end every event is journaled once and every
portfolio's snapshot equals the reference model exactly: cash, quantities,
averages and realized P&L always; last prices too when nothing crashed (ticks
are not durable, and recovery replays journaled fills ahead of ticks still
queued).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.documents import OrderFilled
from actors.messages import ApplyFill, PersistSnapshot, PortfolioKey, UpdateLastPrice
from actors.recovery import WarmStart
from persistence.pool import Pool
from persistence.uow import unit_of_work
from supervision import Effect, FaultPlan
from tests.fixtures.reference_model import ReferencePortfolio
from tests.integration.actors.trading_support import (
    WAIT,
    Trading,
    as_reference,
    fill,
    journal_fill,
    opened_pool,
    stored_snapshot,
    trading_tree,
    without_prices,
)
from tests.unit.supervision.support import MemorySink

PORTFOLIOS = 3
TOKENS = (101, 102, 103)
TICK_TIME = fill().filled_at

prices = st.integers(1, 10**7).map(lambda units: Decimal(units).scaleb(-2))
fees = st.one_of(st.just(Decimal(0)), st.integers(0, 500).map(lambda u: Decimal(u).scaleb(-2)))
fill_steps = st.tuples(
    st.just("fill"),
    st.integers(0, PORTFOLIOS - 1),
    st.sampled_from(TOKENS),
    st.sampled_from(["BUY", "SELL"]),
    st.integers(1, 40),
    prices,
    fees,
)
steps = st.lists(
    st.one_of(
        fill_steps,
        fill_steps,
        fill_steps,
        st.tuples(st.just("duplicate"), st.integers(0, 10**6)),
        st.tuples(st.just("redeliver"), st.integers(0, 10**6)),
        st.tuples(st.just("tick"), st.sampled_from(TOKENS), prices),
        st.tuples(st.just("crash")),
    ),
    min_size=1,
    max_size=25,
)
fault_rules = st.lists(
    st.tuples(
        st.sampled_from(["raise", "fail_start", "journal"]),
        st.integers(0, PORTFOLIOS - 1),
        st.integers(1, 10),
    ),
    max_size=4,
)


@pytest.fixture(scope="module")
def module_database(pg_server_url: str, template_database: str) -> Iterator[str]:
    """One database for every example: each example uses portfolio ids of its own."""
    from tests.fixtures import servers

    name = f"alphap_exactly_once_{uuid4().hex[:8]}"
    servers._create_database(pg_server_url, name, template_database)
    yield servers.database_url_for(pg_server_url, name)
    servers._drop_database(pg_server_url, name)


@dataclass
class Run:
    """One example: its portfolios, what was journaled, and the model of what must follow."""

    keys: list[PortfolioKey]
    models: dict[PortfolioKey, ReferencePortfolio]
    journaled: list[tuple[OrderFilled, int]] = field(default_factory=list)
    sink: MemorySink = field(default_factory=MemorySink)
    crashed: bool = False


class Process:
    """One incarnation of the daemon's trading tree with a pool of its own."""

    def __init__(self, conninfo: str, run: Run, rules: list[tuple[str, int, int]], warm: bool):
        self._pool_context = opened_pool(conninfo)
        self.pool: Pool = self._pool_context.__enter__()
        plan = FaultPlan(seed=len(run.journaled))
        for kind, portfolio, nth in rules:
            key = run.keys[portfolio]
            if kind == "raise":
                plan.add("portfolios", Effect.RAISE, key=key, nth=nth)
            elif kind == "fail_start":
                plan.add("portfolios", Effect.FAIL_START, key=key, times=1)
            else:
                plan.add("journal", Effect.RAISE, nth=nth)
        self.trading: Trading = trading_tree(
            self.pool,
            sink=run.sink,
            warm=WarmStart.load(self.pool) if warm else None,
            faults=plan,
            snapshot_interval=0.02,
            max_attempts=10,
        )

    def crash(self) -> None:
        """Every write fails from now on; the tree stops without its final snapshots."""
        self.pool.close()
        self.trading.root.stop()
        self._pool_context.__exit__(None, None, None)

    def stop(self) -> None:
        self.trading.root.stop()
        self._pool_context.__exit__(None, None, None)


def drive(process: Process, run: Run, step: tuple[Any, ...]) -> None:
    trading = process.trading
    kind = step[0]
    if kind == "fill":
        _, portfolio, token, side, quantity, price, fee = step
        key = run.keys[portfolio]
        document = fill(token, side, quantity, price, fee, key=key)
        result = journal_fill(trading, document)
        assert result.inserted
        run.models[key].apply(document)
        run.journaled.append((document, result.journal_id))
    elif kind in {"duplicate", "redeliver"} and run.journaled:
        document, journal_id = run.journaled[step[1] % len(run.journaled)]
        key = PortfolioKey(document.broker_namespace, document.portfolio_id)
        if kind == "duplicate":
            again = journal_fill(trading, document)
            assert (again.inserted, again.journal_id) == (False, journal_id)
        else:
            redelivered = ApplyFill(fill=document, journal_id=journal_id)
            assert trading.portfolios.ask(key, redelivered, WAIT) is False
    elif kind == "tick":
        _, token, price = step
        for holder in trading.holdings.holders(token):
            if holder in run.models:
                message = UpdateLastPrice(
                    instrument_token=token, last_price=price, timestamp=TICK_TIME
                )
                trading.portfolios.tell(holder, message)
                run.models[holder].tick(token, price)


def journal_counts(pool: Pool, event_ids: list[UUID]) -> dict[UUID, int]:
    with unit_of_work(pool) as uow:
        rows = uow.conn.execute(
            "SELECT event_id, count(*) FROM trading_events WHERE event_id = ANY(%s) "
            "GROUP BY event_id",
            (event_ids,),
        ).fetchall()
    return dict(rows)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=steps, rules=fault_rules, warm=st.booleans())
def test_every_fill_counts_exactly_once_whatever_crashes(
    module_database: str,
    steps: list[tuple[Any, ...]],
    rules: list[tuple[str, int, int]],
    warm: bool,
) -> None:
    tag = uuid4().hex[:10]
    keys = [PortfolioKey("paper", f"{tag}-{n}") for n in range(PORTFOLIOS)]
    run = Run(keys, {key: ReferencePortfolio() for key in keys})
    process = Process(module_database, run, rules, warm=False)
    try:
        for step in steps:
            if step[0] == "crash":
                process.crash()
                run.crashed = True
                process = Process(module_database, run, rules, warm)
            else:
                drive(process, run, step)
        traded = {PortfolioKey(d.broker_namespace, d.portfolio_id) for d, _ in run.journaled}
        for key in traded:
            process.trading.portfolios.ask(key, PersistSnapshot(), WAIT)
    finally:
        process.stop()

    exact_prices = not run.crashed and not rules
    with opened_pool(module_database) as pool:
        counts = journal_counts(pool, [d.event_id for d, _ in run.journaled])
        assert counts == {d.event_id: 1 for d, _ in run.journaled}
        for key in keys:
            stored = stored_snapshot(pool, key)
            if key not in traded:
                assert stored is None
                continue
            assert stored is not None
            expected = run.models[key].snapshot()
            if exact_prices:
                assert as_reference(stored) == expected
            else:
                assert as_reference(stored, prices=False) == without_prices(expected)
            assert stored.last_journal_id == max(
                j for d, j in run.journaled if d.portfolio_id == key.portfolio_id
            )
    assert run.sink.letters == []
