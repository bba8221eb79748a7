"""trading_events: batched idempotent appends, duplicates reported, fills replayed in order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from persistence import jsonb
from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories import events
from persistence.repositories.events import AppendResult, Event
from persistence.uow import unit_of_work

T0 = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    pool = open_pool(PoolConfig(conninfo=database_url, min_size=1, max_size=2))
    yield pool
    pool.close()


def _fill(pid: str = "p1", ns: str = "paper", **changes: Any) -> Event:
    values: dict[str, Any] = {
        "event_id": uuid4(),
        "event_type": "order_filled",
        "broker_namespace": ns,
        "portfolio_id": pid,
        "strategy_id": "momentum",
        "instrument_token": 256265,
        "correlation_id": "corr-1",
        "event_timestamp": T0,
        "event_data": {"side": "BUY", "quantity": 5, "price": Decimal("101.25")},
    }
    values.update(changes)
    return Event(**values)


def _stored(batch: list[Event]) -> list[Event]:
    """The events as read back: Decimal values in event_data become exact strings."""
    return [
        e.model_copy(update={"event_data": jsonb.loads(jsonb.dumps(e.event_data))}) for e in batch
    ]


def _append(pool: Pool, batch: list[Event]) -> list[AppendResult]:
    with unit_of_work(pool) as uow:
        return events.append(uow.conn, batch)


def test_new_events_get_journal_ids_in_batch_order(pool: Pool) -> None:
    batch = [_fill(event_timestamp=T0 + timedelta(seconds=n)) for n in range(50)]
    results = _append(pool, batch)
    assert [r.event_id for r in results] == [e.event_id for e in batch]
    assert all(r.inserted for r in results)
    ids = [r.journal_id for r in results]
    assert ids == sorted(ids)
    assert len(set(ids)) == 50


def test_duplicates_in_the_batch_and_already_stored_are_reported(pool: Pool) -> None:
    stored = _fill()
    [first] = _append(pool, [stored])
    fresh, other = _fill(), _fill()
    batch = [fresh, stored, fresh, other, stored.model_copy(update={"event_type": "changed"})]
    results = _append(pool, batch)
    by_position = [(r.event_id, r.inserted) for r in results]
    assert by_position == [
        (fresh.event_id, True),
        (stored.event_id, False),
        (fresh.event_id, False),
        (other.event_id, True),
        (stored.event_id, False),
    ]
    assert results[1].journal_id == results[4].journal_id == first.journal_id
    assert results[0].journal_id == results[2].journal_id
    assert first.journal_id < results[0].journal_id < results[3].journal_id
    with pool.connection() as conn:
        rows = conn.execute("SELECT event_id, event_type FROM trading_events").fetchall()
    assert len(rows) == 3
    assert (stored.event_id, "order_filled") in rows


def test_appending_the_same_batch_twice_stores_it_once(pool: Pool) -> None:
    batch = [_fill() for _ in range(20)]
    first = _append(pool, batch)
    again = _append(pool, batch)
    assert [r.journal_id for r in again] == [r.journal_id for r in first]
    assert not any(r.inserted for r in again)
    assert _append(pool, []) == []


def test_fills_after_returns_only_that_portfolios_fills_in_journal_order(pool: Pool) -> None:
    mine = [_fill("p1", event_timestamp=T0 - timedelta(minutes=n)) for n in range(5)]
    noise = [
        _fill("p2"),
        _fill("p1", ns="zerodha"),
        _fill("p1", event_type="order_rejected"),
        _fill(None, event_type="session_started"),
    ]
    results = _append(pool, [mine[0], noise[0], mine[1], noise[1], mine[2], noise[2], *mine[3:]])
    _append(pool, noise[3:])
    journal = {r.event_id: r.journal_id for r in results}
    with unit_of_work(pool) as uow:
        all_fills = events.fills_after(uow.conn, "paper", "p1", 0)
        later = events.fills_after(uow.conn, "paper", "p1", journal[mine[2].event_id])
        nothing = events.fills_after(uow.conn, "paper", "nobody", 0)
    assert [f.event for f in all_fills] == _stored(mine)
    assert [f.journal_id for f in all_fills] == [journal[e.event_id] for e in mine]
    assert [f.event for f in later] == _stored(mine[3:])
    assert nothing == []
    assert all_fills[0].event.event_data == {"side": "BUY", "quantity": 5, "price": "101.25"}


def test_fills_after_many_recovers_several_portfolios_at_once(pool: Pool) -> None:
    a = [_fill("a") for _ in range(3)]
    b = [_fill("b") for _ in range(2)]
    results = _append(pool, [a[0], b[0], a[1], b[1], a[2]])
    journal = {r.event_id: r.journal_id for r in results}
    with unit_of_work(pool) as uow:
        recovered = events.fills_after_many(
            uow.conn,
            [("paper", "a", journal[a[0].event_id]), ("paper", "b", 0), ("paper", "c", 0)],
        )
    assert {k: [f.event for f in v] for k, v in recovered.items()} == {
        ("paper", "a"): _stored(a[1:]),
        ("paper", "b"): _stored(b),
        ("paper", "c"): [],
    }


def test_event_data_with_nul_is_refused_before_it_reaches_a_batch() -> None:
    with pytest.raises(ValueError, match="NUL"):
        _fill(event_data={"note": {"inner": ["a\x00b"]}})


event_data = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda s: "\x00" not in s),
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(2**63), max_value=2**63),
        st.text(max_size=20).filter(lambda s: "\x00" not in s),
        st.booleans(),
        st.none(),
    ),
    max_size=6,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=event_data)
def test_event_data_decimals_round_trip_exactly_as_strings(
    pool: Pool, data: dict[str, Any]
) -> None:
    event = _fill(event_data=data)
    [result] = _append(pool, [event])
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT event_data FROM trading_events WHERE journal_id = %s", (result.journal_id,)
        ).fetchone()
    assert row is not None
    stored = row[0]
    assert stored.keys() == data.keys()
    for key, value in data.items():
        if isinstance(value, Decimal):
            assert stored[key] == str(value)
            assert Decimal(stored[key]) == value
        else:
            assert stored[key] == value


def test_event_ids_are_uuids(pool: Pool) -> None:
    [result] = _append(pool, [_fill(event_id="6f1c2a9e-6c1b-4a8e-9f59-3c2f1d9b7a10")])
    assert result.event_id == UUID("6f1c2a9e-6c1b-4a8e-9f59-3c2f1d9b7a10")
