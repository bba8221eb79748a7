"""The ingress against real Redis and PostgreSQL: routing, acknowledgement, redelivery."""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from actors.ingress import IngressConfig
from actors.ingress_batch import letter_id
from actors.messages import AppendToJournal, PortfolioKey
from actors.stream import GROUP, stream_key
from supervision.deadletters import LetterFilter
from supervision.faults import Effect, FaultPlan
from tests.fixtures.stream import DocumentMix, append, fill, tick, trading_event
from tests.integration.actors.ingress_harness import Harness, StaticHoldings, harness

DEADLINE = 30.0


def wait_for(condition: Callable[[], bool], timeout: float = DEADLINE) -> None:
    """Poll `condition` until it holds; fail the test at the deadline."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met before the deadline")
        time.sleep(0.02)


def pending(client: redis.Redis, prefix: str) -> int:
    info = client.xpending(stream_key(prefix), GROUP)
    return int(info["pending"])


def journaled(database_url: str) -> list[tuple[str, str | None, int]]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT event_id::text, portfolio_id, journal_id FROM trading_events"
            " ORDER BY journal_id"
        ).fetchall()
    return [(str(a), b, int(c)) for a, b, c in rows]


StartTree = Callable[..., contextlib.AbstractContextManager[Harness]]


@pytest.fixture
def start_tree(
    database_url: str, redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> StartTree:
    """`harness` on this test's servers, prefix and directory; options as keywords."""
    return functools.partial(
        harness,
        database_url=database_url,
        redis_url=redis_server_url,
        prefix=redis_prefix,
        tmp_path=tmp_path,
    )


@pytest.fixture
def tree(start_tree: StartTree) -> Iterator[Harness]:
    with start_tree(holdings=StaticHoldings({256265: [PortfolioKey("paper", "P0000")]})) as running:
        yield running


def test_routes_journals_dead_letters_and_acknowledges_everything(
    tree: Harness, redis_client: redis.Redis, redis_prefix: str, database_url: str
) -> None:
    mix = DocumentMix(seed=7, portfolios=5)
    documents = mix.build(600, invalid_share=0.03, duplicate_share=0.05)
    ids = append(redis_client, redis_prefix, documents)

    wait_for(lambda: tree.description()["acked"] == len(ids))

    rows = journaled(database_url)
    assert sorted(event_id for event_id, _, _ in rows) == sorted(mix.event_ids)
    assert pending(redis_client, redis_prefix) == 0
    invalid_ids = [i for i, d in zip(ids, documents, strict=True) if d in mix.invalid]
    assert invalid_ids
    for entry_id in invalid_ids:
        letter = tree.registry.get(letter_id(stream_key(redis_prefix), entry_id))
        assert letter is not None and letter.source_id == entry_id
        assert letter.original in mix.invalid and letter.reason
    assert tree.registry.count(LetterFilter(actor="ingress")) == len(invalid_ids)
    # Each portfolio was told its new fills once each, in journal order.
    fills_by_key: dict[PortfolioKey, list[int]] = {}
    for _, portfolio_id, journal_id in rows:
        if portfolio_id is not None:
            fills_by_key.setdefault(PortfolioKey("paper", portfolio_id), []).append(journal_id)
    assert dict(tree.recorder.fills) == fills_by_key
    description = tree.description()
    assert description["read"] == len(ids) and description["in_flight_batches"] == 0


def test_ticks_reach_the_holders_in_stream_order(
    tree: Harness, redis_client: redis.Redis, redis_prefix: str
) -> None:
    append(
        redis_client, redis_prefix, [tick(256265, "101.5"), tick(738561, "7"), tick(256265, "99")]
    )
    wait_for(lambda: tree.description()["acked"] == 3)
    key = PortfolioKey("paper", "P0000")
    wait_for(lambda: tree.recorder.prices[key][-1:] == ["99"])
    # Ticks read in one batch are folded into the last price; across batches both arrive.
    assert tree.recorder.prices[key] in (["99"], ["101.5", "99"])


def test_a_tick_right_after_a_first_fill_reaches_the_new_holder_after_the_fill(
    tree: Harness, redis_client: redis.Redis, redis_prefix: str
) -> None:
    key = PortfolioKey("paper", "NEW")
    append(
        redis_client,
        redis_prefix,
        [fill("NEW", instrument_token=738561), tick(738561, "2510"), tick(408065, "1")],
    )
    wait_for(lambda: tree.description()["acked"] == 3)
    wait_for(lambda: len(tree.recorder.received[key]) == 2)
    assert tree.recorder.received[key] == ["fill", "price 2510"]


def test_ticks_between_fills_are_folded_without_reordering_them_around_the_fills(
    tree: Harness, redis_client: redis.Redis, redis_prefix: str
) -> None:
    key = PortfolioKey("paper", "FOLD")
    other = PortfolioKey("paper", "P0000")
    append(
        redis_client,
        redis_prefix,
        [
            fill("FOLD", instrument_token=256265),
            tick(256265, "101"),
            tick(256265, "102"),
            fill("FOLD", instrument_token=256265),
            tick(256265, "103"),
            tick(256265, "104"),
        ],
    )
    wait_for(lambda: tree.description()["acked"] == 6)
    wait_for(lambda: tree.recorder.received[key][-1:] == ["price 104"])
    # Whatever the batches were, each fill sees the prices before it and none after it.
    received = tree.recorder.received[key]
    first, second = (i for i, item in enumerate(received) if item == "fill")
    assert set(received[first + 1 : second]) <= {"price 101", "price 102"}
    assert received[second - 1] == "price 102"
    assert set(received[second + 1 :]) <= {"price 103", "price 104"}
    assert tree.recorder.prices[other][-1:] == ["104"]


def test_fills_of_refused_strategies_are_dead_letters(
    start_tree: StartTree, database_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO strategy_configurations (strategy_id, is_active, zerodha_trading_enabled)"
            " VALUES ('off', false, true), ('paper-only', true, false), ('live', true, true)"
        )
    documents = [
        fill("A", strategy_id="off"),
        fill("A", strategy_id="paper-only", broker_namespace="zerodha"),
        fill("A", strategy_id="unknown", broker_namespace="zerodha"),
        fill("A", strategy_id="live", broker_namespace="zerodha"),
        fill("A", strategy_id="paper-only"),
        fill("A", strategy_id="unknown"),
    ]
    client = redis.Redis.from_url(redis_server_url)
    with start_tree() as tree:
        ids = append(client, redis_prefix, documents)
        wait_for(lambda: tree.description()["acked"] == len(ids))
        letters = [
            tree.registry.get(letter_id(stream_key(redis_prefix), entry_id)) for entry_id in ids
        ]
    client.close()
    stored = {event_id for event_id, _, _ in journaled(database_url)}
    assert stored == {d["event_id"] for d in documents[3:]}
    assert [letter.reason if letter else None for letter in letters] == [
        "strategy off is not active",
        "strategy paper-only is not enabled for zerodha trading",
        "strategy unknown is not enabled for zerodha trading",
        None,
        None,
        None,
    ]


def test_a_refused_event_is_a_dead_letter_and_its_batch_goes_on(
    tree: Harness, redis_client: redis.Redis, redis_prefix: str, database_url: str
) -> None:
    good = [fill("B", quantity=q) for q in (1, 2, 3)]
    documents = [good[0], trading_event("poison"), good[1], good[2]]
    ids = append(redis_client, redis_prefix, documents)
    wait_for(lambda: tree.description()["acked"] == len(ids))
    assert [e for e, _, _ in journaled(database_url)] == [d["event_id"] for d in good]
    letter = tree.registry.get(letter_id(stream_key(redis_prefix), ids[1]))
    assert letter is not None and letter.error_type == "JournalRefused"
    assert tree.recorder.fills[PortfolioKey("paper", "B")] == [
        j for _, _, j in journaled(database_url)
    ]


def test_own_pending_entries_are_processed_first_after_a_restart(
    start_tree: StartTree, database_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server_url)
    key = stream_key(redis_prefix)
    client.xgroup_create(key, GROUP, id="0", mkstream=True)
    documents = [fill("C", quantity=q) for q in range(1, 6)]
    append(client, redis_prefix, documents)
    # A previous run of this consumer read them and died before acknowledging.
    client.xreadgroup(GROUP, "test-consumer", {key: ">"}, count=3)
    with start_tree() as tree:
        wait_for(lambda: tree.description()["acked"] == 5)
        assert [e for e, _, _ in journaled(database_url)] == [d["event_id"] for d in documents]
    assert pending(client, redis_prefix) == 0
    client.close()


def test_entries_abandoned_by_another_consumer_are_claimed(
    start_tree: StartTree, database_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_server_url)
    key = stream_key(redis_prefix)
    client.xgroup_create(key, GROUP, id="0", mkstream=True)
    documents = [fill("D", event_id=str(uuid.uuid4())) for _ in range(4)]
    append(client, redis_prefix, documents)
    client.xreadgroup(GROUP, "a-dead-consumer", {key: ">"}, count=4)
    config = IngressConfig(
        housekeeping_seconds=0.1, block_ms=50, claim_idle_seconds=0.2, claim_interval_seconds=0.1
    )
    with start_tree(config=config) as tree:
        wait_for(lambda: tree.description()["acked"] == 4)
    assert sorted(e for e, _, _ in journaled(database_url)) == sorted(
        d["event_id"] for d in documents
    )
    assert pending(client, redis_prefix) == 0
    client.close()


def test_a_dead_lettered_journal_request_keeps_journal_order_equal_to_stream_order(
    start_tree: StartTree, database_url: str, redis_server_url: str, redis_prefix: str
) -> None:
    # The journal fails three times on one batch's request, which is dead-lettered,
    # while later batches are already parsed: they must not be journaled before it,
    # or the portfolios (which skip journal ids below their last) would lose fills.
    documents = [fill(f"O{n % 3}", quantity=n + 1) for n in range(40)]
    poisoned = documents[12]["event_id"]

    def carries_poisoned(message: object) -> bool:
        return isinstance(message, AppendToJournal) and any(
            str(event.event_id) == poisoned for event in message.events
        )

    plan = FaultPlan(seed=1)
    rule = plan.add("journal", Effect.RAISE, when=carries_poisoned, times=3)
    client = redis.Redis.from_url(redis_server_url)
    ids = append(client, redis_prefix, documents)
    config = IngressConfig(
        batch_size=5, housekeeping_seconds=0.2, block_ms=50, journal_timeout_seconds=DEADLINE
    )
    with start_tree(config=config, faults=plan) as tree:
        # Long before the journal timeout: the dead letter itself answers the request.
        wait_for(lambda: tree.description()["acked"] == len(ids), timeout=DEADLINE / 2)
        assert plan.fired(rule) == 3
        rows = journaled(database_url)
        assert [event_id for event_id, _, _ in rows] == [d["event_id"] for d in documents]
        for portfolio in ("O0", "O1", "O2"):
            key = PortfolioKey("paper", portfolio)
            assert tree.recorder.fills[key] == [j for _, p, j in rows if p == portfolio]
    client.close()
