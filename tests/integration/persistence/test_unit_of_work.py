"""One unit of work is one transaction: all of it commits, or none of it does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import uuid4

import psycopg
import pytest

from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories import events
from persistence.repositories.events import Event
from persistence.uow import unit_of_work


class BoomError(Exception):
    """Raised inside a unit of work on purpose."""


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    pool = open_pool(PoolConfig(conninfo=database_url, min_size=1, max_size=2))
    yield pool
    pool.close()


def _event() -> Event:
    return Event(
        event_id=uuid4(),
        event_type="order_filled",
        broker_namespace="paper",
        portfolio_id="p1",
        event_timestamp=datetime.now(UTC),
    )


def _count(pool: Pool) -> int:
    with pool.connection() as conn:
        row = conn.execute("SELECT count(*) FROM trading_events").fetchone()
    assert row is not None
    return int(row[0])


def test_normal_exit_commits_every_statement(pool: Pool) -> None:
    with unit_of_work(pool) as uow:
        events.append(uow.conn, [_event()])
        events.append(uow.conn, [_event(), _event()])
    assert _count(pool) == 3


def test_exception_rolls_back_every_statement_of_the_unit(pool: Pool) -> None:
    with pytest.raises(BoomError), unit_of_work(pool) as uow:
        events.append(uow.conn, [_event()])
        uow.conn.execute("INSERT INTO strategy_configurations (strategy_id) VALUES ('s1')")
        events.append(uow.conn, [_event(), _event()])
        raise BoomError
    assert _count(pool) == 0
    with pool.connection() as conn:
        assert conn.execute("SELECT count(*) FROM strategy_configurations").fetchone() == (0,)


def test_a_failing_statement_rolls_back_the_earlier_ones(pool: Pool) -> None:
    with pytest.raises(psycopg.errors.UndefinedTable), unit_of_work(pool) as uow:
        events.append(uow.conn, [_event()])
        uow.conn.execute("SELECT * FROM no_such_table")
    assert _count(pool) == 0


def test_repositories_cannot_commit_inside_a_unit(pool: Pool) -> None:
    with pytest.raises(psycopg.ProgrammingError), unit_of_work(pool) as uow:
        events.append(uow.conn, [_event()])
        uow.conn.commit()
    assert _count(pool) == 0


def test_a_failed_savepoint_keeps_the_rest_of_the_unit(pool: Pool) -> None:
    with unit_of_work(pool) as uow:
        events.append(uow.conn, [_event()])
        with pytest.raises(BoomError), uow.savepoint():
            events.append(uow.conn, [_event()])
            raise BoomError
    assert _count(pool) == 1


def test_the_connection_goes_back_to_the_pool_idle(pool: Pool) -> None:
    with pytest.raises(BoomError), unit_of_work(pool):
        raise BoomError
    with unit_of_work(pool) as uow:
        assert uow.conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    with pool.connection() as conn:
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
