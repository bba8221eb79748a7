"""The journal against real PostgreSQL: group commit, ids per requester, duplicates, refusals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import pytest

from actors.errors import JournalRefusedError
from actors.journal import JournalActor, JournalConfig
from actors.messages import FlushJournal
from persistence.pool import Pool
from persistence.repositories.events import AppendResult
from supervision import ChildSpec, Supervisor
from tests.integration.actors.trading_support import (
    WAIT,
    append,
    event_of,
    fill,
    opened_pool,
    other_event,
    request,
    stored_event_ids,
)
from tests.unit.supervision.support import MemorySink, fast_config

NEVER_MS = 600_000.0


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    with opened_pool(database_url) as opened:
        yield opened


@contextmanager
def journal_tree(pool: Pool, config: JournalConfig, *, timer: bool = True) -> Iterator[Supervisor]:
    holder: dict[str, Supervisor] = {}
    myself = (lambda: holder["root"].ref("journal")) if timer else None
    root = Supervisor(
        "root",
        [ChildSpec("journal", JournalActor.factory(pool, config, myself))],
        config=fast_config(MemorySink()),
    )
    holder["root"] = root
    root.start()
    try:
        yield root
    finally:
        root.stop()


def describe(root: Supervisor) -> dict[str, object]:
    info = root.tree().children[0]
    description = info.description  # type: ignore[union-attr]
    assert description is not None
    return description


def test_a_full_batch_is_committed_at_once_in_one_transaction(pool: Pool) -> None:
    with journal_tree(pool, JournalConfig(max_batch=3, max_delay_ms=NEVER_MS)) as root:
        journal = root.ref("journal")
        first = request(journal, other_event())
        second = request(journal, other_event(), other_event())
        results = [first.result(WAIT), second.result(WAIT)]
        assert [len(r) for r in results] == [1, 2]
        assert describe(root)["flushed_batches"] == 1
        assert describe(root)["events_written"] == 3


def test_a_lone_request_is_committed_after_the_delay(pool: Pool) -> None:
    with journal_tree(pool, JournalConfig(max_batch=1000, max_delay_ms=5)) as root:
        event = other_event()
        [result] = append(root.ref("journal"), event)
        assert result.inserted
        assert stored_event_ids(pool) == [(event.event_id, result.journal_id)]


def test_without_a_timer_only_flush_journal_commits_a_small_batch(pool: Pool) -> None:
    with journal_tree(pool, JournalConfig(max_delay_ms=1), timer=False) as root:
        journal = root.ref("journal")
        pending = request(journal, other_event())
        journal.ask(FlushJournal())
        assert pending.done()
        assert pending.result(0)[0].inserted


def test_each_requester_gets_the_ids_of_its_own_events(pool: Pool) -> None:
    with journal_tree(pool, JournalConfig(max_batch=50, max_delay_ms=2)) as root:
        journal = root.ref("journal")
        sent: dict[int, list[object]] = {}
        replies: dict[int, Future[list[AppendResult]]] = {}
        lock = threading.Lock()

        def requester(number: int) -> None:
            for round_ in range(5):
                events = tuple(other_event() for _ in range(1 + (number + round_) % 4))
                reply = request(journal, *events)
                with lock:
                    sent[number * 10 + round_] = [e.event_id for e in events]
                    replies[number * 10 + round_] = reply

        threads = [threading.Thread(target=requester, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WAIT)
        answered = {tag: reply.result(WAIT) for tag, reply in replies.items()}
        journal_ids = dict(stored_event_ids(pool))
        for tag, results in answered.items():
            assert [r.event_id for r in results] == sent[tag]
            assert all(r.inserted for r in results)
            assert all(journal_ids[r.event_id] == r.journal_id for r in results)
        assert len(journal_ids) == sum(len(ids) for ids in sent.values())
        assert describe(root)["flushed_batches"] < len(replies)  # type: ignore[operator]


def test_duplicates_are_stored_once_and_reported(pool: Pool) -> None:
    with journal_tree(pool, JournalConfig(max_batch=1000, max_delay_ms=5)) as root:
        journal = root.ref("journal")
        document = fill()
        [first] = append(journal, event_of(document))
        again, twice = append(journal, event_of(document), event_of(document))
        late = request(journal, event_of(document))
        same_batch = request(journal, event_of(document))
        assert first.inserted
        assert (again.inserted, twice.inserted) == (False, False)
        assert [r.journal_id for r in (again, twice)] == [first.journal_id] * 2
        assert [late.result(WAIT)[0].inserted, same_batch.result(WAIT)[0].inserted] == [
            False,
            False,
        ]
        assert stored_event_ids(pool) == [(document.event_id, first.journal_id)]
        assert describe(root)["duplicates"] == 4


def test_a_refused_event_fails_only_its_own_request(pool: Pool) -> None:
    with journal_tree(pool, JournalConfig(max_batch=5, max_delay_ms=NEVER_MS)) as root:
        journal = root.ref("journal")
        good = request(journal, other_event())
        poison = request(journal, other_event(instrument_token=2**70), other_event())
        also_good = request(journal, other_event())
        last = request(journal, other_event())
        with pytest.raises(JournalRefusedError, match="refused"):
            poison.result(WAIT)
        committed = [good.result(WAIT), also_good.result(WAIT), last.result(WAIT)]
        stored = [event_id for event_id, _ in stored_event_ids(pool)]
        assert stored == [results[0].event_id for results in committed]
        assert describe(root)["refused_requests"] == 1
        after = request(journal, other_event())
        journal.tell(FlushJournal())
        assert after.result(WAIT)[0].journal_id > committed[-1][0].journal_id


def test_stop_commits_what_is_buffered(pool: Pool) -> None:
    with journal_tree(pool, JournalConfig(max_batch=1000, max_delay_ms=NEVER_MS)) as root:
        pending = request(root.ref("journal"), other_event(), other_event())
    assert [r.inserted for r in pending.result(WAIT)] == [True, True]
    assert len(stored_event_ids(pool)) == 2
