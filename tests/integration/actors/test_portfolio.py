"""Portfolio actors against real PostgreSQL: recovery, idempotence, passivation, ticks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from actors.errors import AccountingError
from actors.messages import (
    ApplyFill,
    PersistSnapshot,
    PortfolioKey,
    UpdateLastPrice,
    UpdateLastPrices,
)
from actors.portfolio_state import PortfolioState
from actors.recovery import WarmStart
from persistence.pool import Pool
from persistence.repositories import snapshots
from persistence.uow import unit_of_work
from supervision import Effect, FaultPlan, Reject
from tests.integration.actors.trading_support import (
    KEY,
    WAIT,
    Signals,
    append,
    as_reference,
    event_of,
    fill,
    journal_fill,
    opened_pool,
    reference_of,
    stored_snapshot,
    trading_tree,
    without_prices,
)
from tests.unit.supervision.support import MemorySink

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    with opened_pool(database_url) as opened:
        yield opened


def tick(token: int, price: str) -> UpdateLastPrice:
    return UpdateLastPrice(instrument_token=token, last_price=Decimal(price), timestamp=NOW)


def test_recovery_is_the_snapshot_plus_the_fills_journaled_after_it(pool: Pool) -> None:
    early = [fill(5, "BUY", 10, "100"), fill(5, "SELL", 4, "110", fees="1.5")]
    late = [fill(5, "BUY", 2, "90.25"), fill(7, "SELL", 3, "20", fees="0.1")]
    trading = trading_tree(pool)
    try:
        journaled = [append(trading.journal, event_of(d))[0] for d in early + late]
    finally:
        trading.root.stop()
    snapshotted = PortfolioState.opened(KEY)
    for document, result in zip(early, journaled, strict=False):
        snapshotted = snapshotted.applied(document, result.journal_id)
    with unit_of_work(pool) as uow:
        snapshots.upsert_many(uow.conn, [snapshotted.to_snapshot(NOW)])

    trading = trading_tree(pool)
    try:
        assert trading.portfolios.ask(KEY, PersistSnapshot(), WAIT) == journaled[-1].journal_id
        [description] = trading.descriptions().values()
    finally:
        trading.root.stop()
    stored = stored_snapshot(pool)
    assert stored is not None
    assert as_reference(stored) == reference_of(*early, *late).snapshot()
    assert description["recovered_from"] == "snapshot"
    assert stored.last_journal_id == journaled[-1].journal_id


def test_a_fill_is_applied_once_however_often_it_arrives(pool: Pool) -> None:
    trading = trading_tree(pool)
    try:
        first, second = fill(5, "BUY", 3, "10"), fill(5, "SELL", 1, "12", fees="0.5")
        assert trading.portfolios.ask(KEY, PersistSnapshot(), WAIT) == 0
        one = journal_fill(trading, first)
        two = journal_fill(trading, second)
        for again in (ApplyFill(fill=first, journal_id=one.journal_id),) * 2 + (
            ApplyFill(fill=second, journal_id=two.journal_id),
        ):
            assert trading.portfolios.ask(KEY, again, WAIT) is False
        assert not journal_fill(trading, first).inserted
        trading.portfolios.ask(KEY, PersistSnapshot(), WAIT)
        [description] = trading.descriptions().values()
    finally:
        trading.root.stop()
    stored = stored_snapshot(pool)
    assert stored is not None
    assert as_reference(stored) == reference_of(first, second).snapshot()
    assert description["ignored_fills"] == 3
    assert description["positions"]["5"]["quantity"] == 2


def test_passivation_writes_a_snapshot_and_reactivation_recovers_it(pool: Pool) -> None:
    trading = trading_tree(pool, idle_after=0.05)
    try:
        documents = [fill(5, "BUY", 3, "10"), fill(6, "SELL", 2, "7.5", fees="0.25")]
        for document in documents:
            journal_fill(trading, document)
        trading.portfolios.tell(KEY, tick(5, "11.5"))
        assert trading.portfolios.wait_until(lambda: trading.portfolios.live_count() == 0, WAIT)
        assert trading.dirty.latest(KEY) is None
        assert trading.holdings.holders(5) == ()
        stored = stored_snapshot(pool)
        assert stored is not None
        model = reference_of(*documents)
        model.tick(5, "11.5")
        assert as_reference(stored) == model.snapshot()
        assert stored.positions["5"].priced_by_tick

        later = fill(5, "BUY", 1, "12")
        journal_fill(trading, later)
        model.apply(later)
        [description] = trading.descriptions().values()
        assert description["recovered_from"] == "snapshot"
        assert description["positions"]["5"]["last_price"] == "11.5"
        assert trading.holdings.holders(5) == (KEY,)
    finally:
        trading.root.stop()
    stored = stored_snapshot(pool)
    assert stored is not None
    assert as_reference(stored) == model.snapshot()


def test_ticks_reach_positions_and_a_crash_keeps_them(pool: Pool) -> None:
    sink, faults = MemorySink(), FaultPlan()
    trading = trading_tree(pool, sink=sink, faults=faults)
    try:
        journal_fill(trading, fill(5, "BUY", 2, "100"))
        assert trading.portfolios.ask(KEY, tick(5, "104"), WAIT) is True
        assert trading.portfolios.ask(KEY, tick(99, "1"), WAIT) is False
        with pytest.raises(Reject):
            trading.portfolios.ask(KEY, "not a message", WAIT)
        rule = faults.add("portfolios", Effect.RAISE, key=KEY, times=1)
        journal_fill(trading, fill(5, "BUY", 2, "102"))
        assert faults.fired(rule) == 1
        [description] = trading.descriptions().values()
    finally:
        trading.root.stop()
    assert description["recovered_from"] == "memory"
    position = description["positions"]["5"]
    assert (position["quantity"], position["last_price"]) == (4, "104")
    assert [letter.reason for letter in sink.letters] == ["rejected"]


def test_folded_prices_set_each_held_position_like_single_ticks(pool: Pool) -> None:
    trading = trading_tree(pool)
    try:
        journal_fill(trading, fill(5, "BUY", 2, "100"))
        journal_fill(trading, fill(6, "SELL", 1, "20"))
        folded = UpdateLastPrices(prices={5: Decimal("104.5"), 6: Decimal("19"), 99: Decimal(1)})
        assert trading.portfolios.ask(KEY, folded, WAIT) is True
        assert trading.portfolios.ask(KEY, folded, WAIT) is False
        [description] = trading.descriptions().values()
    finally:
        trading.root.stop()
    positions = description["positions"]
    assert sorted(positions) == ["5", "6"]
    assert (positions["5"]["last_price"], positions["6"]["last_price"]) == ("104.5", "19")
    model = reference_of(fill(5, "BUY", 2, "100"), fill(6, "SELL", 1, "20"))
    model.tick(5, "104.5")
    model.tick(6, "19")
    assert Decimal(description["total_unrealized_pnl"]) == model.snapshot()["total_unrealized_pnl"]


def test_a_fill_for_another_portfolio_is_dead_lettered(pool: Pool) -> None:
    sink = MemorySink()
    trading = trading_tree(pool, sink=sink)
    try:
        stray = fill(5, key=PortfolioKey("paper", "P2"))
        [result] = append(trading.journal, event_of(stray))
        with pytest.raises(Exception, match="sent to paper/P1"):
            trading.portfolios.ask(KEY, ApplyFill(fill=stray, journal_id=result.journal_id), WAIT)
        assert [letter.reason for letter in sink.wait_for(1)] == ["rejected"]
    finally:
        trading.root.stop()


def test_the_warm_start_hands_each_state_out_once(pool: Pool) -> None:
    trading = trading_tree(pool)
    documents = [fill(5, "BUY", 4, "50"), fill(5, "SELL", 1, "55")]
    try:
        journal_fill(trading, documents[0])
    finally:
        trading.root.stop()
    trading = trading_tree(pool)
    try:
        [late] = append(trading.journal, event_of(documents[1]))
    finally:
        trading.root.stop()
    warm = WarmStart.load(pool)
    assert warm.keys() == [KEY]
    trading = trading_tree(pool, warm=warm)
    try:
        assert trading.portfolios.ask(KEY, PersistSnapshot(), WAIT) == late.journal_id
        [description] = trading.descriptions().values()
    finally:
        trading.root.stop()
    assert description["recovered_from"] == "warm_start"
    assert len(warm) == 0
    stored = stored_snapshot(pool)
    assert stored is not None
    assert as_reference(stored) == reference_of(*documents).snapshot()


def test_the_warm_start_prepares_what_a_crash_left_only_in_the_journal(pool: Pool) -> None:
    # A crash before a portfolio's first snapshot, or after fills its snapshot lacks:
    # both must be rebuilt at start and handed out as stale, to be written at once.
    fresh, behind, current = KEY, PortfolioKey("paper", "P2"), PortfolioKey("zerodha", "P3")
    early, late = fill(5, "BUY", 4, "50", key=behind), fill(5, "SELL", 1, "55", key=behind)
    only_journaled = [fill(5, "BUY", 3, "10", fees="0.5"), fill(7, "SELL", 2, "20")]
    trading = trading_tree(pool)
    try:
        journal_fill(trading, early)
        journal_fill(trading, fill(9, "BUY", 1, "1", key=current))
        trading.portfolios.ask(behind, PersistSnapshot(), WAIT)
        trading.portfolios.ask(current, PersistSnapshot(), WAIT)
        for document in [late, *only_journaled]:
            append(trading.journal, event_of(document))
    finally:
        trading.root.stop()
    assert stored_snapshot(pool, fresh) is None

    warm = WarmStart.load(pool)
    assert sorted(warm.keys()) == sorted([fresh, behind, current])
    stale = {state.key: state for state in warm.take_stale()}
    assert warm.take_stale() == []
    assert warm.keys() == [current]
    assert set(stale) == {fresh, behind}
    assert as_reference(stale[fresh].to_snapshot(NOW)) == reference_of(*only_journaled).snapshot()
    assert as_reference(stale[behind].to_snapshot(NOW), prices=False) == without_prices(
        reference_of(early, late).snapshot()
    )


def test_a_malformed_stored_snapshot_stops_the_warm_start_naming_the_portfolio(
    pool: Pool,
) -> None:
    with unit_of_work(pool) as uow:
        uow.conn.execute(
            "INSERT INTO portfolio_snapshots (broker_namespace, portfolio_id, strategy_id,"
            " positions, cash, total_realized_pnl, total_unrealized_pnl, total_pnl,"
            " last_journal_id, snapshot_time) VALUES ('paper', 'BROKEN', '',"
            """ '{"256265": {"quantity": 1, "average_price": 1.5}}', 100, 0, 0, 0, 0, now())"""
        )
    with pytest.raises(AccountingError, match=r"snapshot of paper/BROKEN is malformed"):
        WarmStart.load(pool)


def test_signals_helper_fails_when_nothing_happens() -> None:
    with pytest.raises(AssertionError):
        Signals().wait("never", timeout=0.01)
