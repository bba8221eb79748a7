"""trading_sessions: one row per user under any concurrency, tokens encrypted, never logged."""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from structlog.testing import capture_logs

from persistence.cipher import TokenCipher, generate_key, looks_encrypted
from persistence.errors import TokenDecryptError, TokenKeyMissingError
from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories.sessions import TOKEN_FIELDS, Session, SessionRepository
from persistence.uow import transaction, unit_of_work

NOW = datetime(2026, 11, 27, 9, 15, tzinfo=UTC)
KEY = generate_key()


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    pool = open_pool(PoolConfig(conninfo=database_url, min_size=1, max_size=4))
    yield pool
    pool.close()


@pytest.fixture
def repo() -> SessionRepository:
    return SessionRepository(TokenCipher([KEY]))


def _session(user_id: str = "AB1234", **changes: Any) -> Session:
    values: dict[str, Any] = {
        "user_id": user_id,
        "session_id": "s-1",
        "session_data": {
            "access_token": "acc-tok-4f1c9e",
            "refresh_token": "ref-tok-77aa",
            "public_token": "pub-tok-1122",
            "user_name": "Alice",
            "login_time": "2026-11-27 09:15:00",
        },
        "expires_at": NOW + timedelta(hours=20),
        "last_validated": NOW,
    }
    values.update(changes)
    return Session(**values)


def _rows(pool: Pool) -> list[tuple[Any, ...]]:
    with pool.connection() as conn:
        return conn.execute(
            "SELECT id, user_id, session_id, session_data FROM trading_sessions ORDER BY id"
        ).fetchall()


def test_save_and_latest_round_trip_with_tokens_decrypted(
    pool: Pool, repo: SessionRepository
) -> None:
    session = _session()
    with unit_of_work(pool) as uow:
        row_id = repo.save(uow.conn, session)
    with unit_of_work(pool) as uow:
        loaded = repo.latest(uow.conn, "AB1234")
    assert loaded is not None
    assert loaded.id == row_id
    assert loaded.session_data == session.session_data
    assert loaded.expires_at == session.expires_at
    assert loaded.last_validated == NOW
    assert loaded.is_active
    assert loaded.start_time is not None
    assert loaded.created_at is not None
    assert loaded.updated_at is not None


def test_token_fields_are_stored_as_ciphertext_and_the_rest_as_is(
    pool: Pool, repo: SessionRepository
) -> None:
    with unit_of_work(pool) as uow:
        repo.save(uow.conn, _session())
    [(_, _, _, data)] = _rows(pool)
    for field in ("access_token", "refresh_token", "public_token"):
        assert looks_encrypted(data[field])
        assert TokenCipher([KEY]).decrypt(data[field]) == _session().session_data[field]
    assert data["user_name"] == "Alice"


def test_saving_again_updates_the_one_row(pool: Pool, repo: SessionRepository) -> None:
    with unit_of_work(pool) as uow:
        first = repo.save(uow.conn, _session())
    renewed = _session(session_id="s-2", session_data={"access_token": "new-acc-tok-99"})
    with unit_of_work(pool) as uow:
        second = repo.save(uow.conn, renewed)
        loaded = repo.latest(uow.conn, "AB1234")
    assert first == second
    assert [(r[0], r[2]) for r in _rows(pool)] == [(first, "s-2")]
    assert loaded is not None
    assert loaded.session_data == {"access_token": "new-acc-tok-99"}


def test_latest_without_user_is_the_most_recently_updated(
    pool: Pool, repo: SessionRepository
) -> None:
    for user in ("U1", "U2", "U3"):
        with unit_of_work(pool) as uow:
            repo.save(uow.conn, _session(user))
    with unit_of_work(pool) as uow:
        repo.save(uow.conn, _session("U2", session_id="again"))
    with unit_of_work(pool) as uow:
        latest = repo.latest(uow.conn)
        none = repo.latest(uow.conn, "nobody")
    assert latest is not None
    assert (latest.user_id, latest.session_id) == ("U2", "again")
    assert none is None


def test_mark_expired_deactivates_only_expired_active_sessions(
    pool: Pool, repo: SessionRepository
) -> None:
    with unit_of_work(pool) as uow:
        repo.save(uow.conn, _session("old", expires_at=NOW - timedelta(minutes=1)))
        repo.save(uow.conn, _session("edge", expires_at=NOW))
        repo.save(uow.conn, _session("fresh", expires_at=NOW + timedelta(minutes=1)))
        repo.save(uow.conn, _session("gone", expires_at=NOW - timedelta(days=1), is_active=False))
    with unit_of_work(pool) as uow:
        assert repo.mark_expired(uow.conn, NOW) == 2
    with unit_of_work(pool) as uow:
        assert repo.mark_expired(uow.conn, NOW) == 0
        states = {
            user: (repo.latest(uow.conn, user) or pytest.fail(user)).is_active
            for user in ("old", "edge", "fresh", "gone")
        }
    assert states == {"old": False, "edge": False, "fresh": True, "gone": False}


def test_concurrent_saves_from_threads_leave_one_row_per_user(
    database_url: str, repo: SessionRepository
) -> None:
    rounds, writers = 20, 4

    def save(user: str, writer: int, barrier: threading.Barrier) -> int:
        with psycopg.connect(database_url) as conn, transaction(conn) as uow:
            session = _session(user, session_id=f"w{writer}")
            barrier.wait(timeout=30)
            return repo.save(uow.conn, session)

    with ThreadPoolExecutor(writers) as executor:
        for n in range(rounds):
            barrier = threading.Barrier(writers)
            futures = [executor.submit(save, f"user-{n}", w, barrier) for w in range(writers)]
            ids = {future.result(timeout=60) for future in futures}
            assert len(ids) == 1
    with psycopg.connect(database_url) as conn:
        counts = conn.execute(
            "SELECT count(*), count(DISTINCT user_id) FROM trading_sessions"
        ).fetchone()
    assert counts == (rounds, rounds)


def _save_in_process(database_url: str, key: str, writer: int, barrier: Any) -> None:
    repo = SessionRepository(TokenCipher([key]))
    with psycopg.connect(database_url) as conn, transaction(conn) as uow:
        barrier.wait(timeout=60)
        repo.save(uow.conn, _session("shared-user", session_id=f"p{writer}"))


def test_concurrent_saves_from_processes_leave_one_row(database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    processes = [
        context.Process(target=_save_in_process, args=(database_url, KEY, w, barrier))
        for w in (1, 2)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0, 0]
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT user_id, session_id FROM trading_sessions").fetchall()
    assert len(rows) == 1
    assert rows[0][0] == "shared-user"
    assert rows[0][1] in ("p1", "p2")


def test_a_token_without_a_key_is_refused_and_nothing_is_written(pool: Pool) -> None:
    repo = SessionRepository(TokenCipher([]))
    with pytest.raises(TokenKeyMissingError, match="ALPHAP_TOKEN_KEYS"), unit_of_work(pool) as uow:
        repo.save(uow.conn, _session())
    assert _rows(pool) == []
    with unit_of_work(pool) as uow:
        repo.save(uow.conn, _session(session_data={"user_name": "no tokens here"}))
    assert len(_rows(pool)) == 1


def test_a_token_under_an_unknown_key_is_a_clear_error(pool: Pool, repo: SessionRepository) -> None:
    with unit_of_work(pool) as uow:
        repo.save(uow.conn, _session())
    stranger_key = generate_key()
    stranger = SessionRepository(TokenCipher([stranger_key]))
    with pytest.raises(TokenDecryptError) as caught, unit_of_work(pool) as uow:
        stranger.latest(uow.conn)
    message = str(caught.value)
    assert "cannot be decrypted" in message
    for secret in (KEY, stranger_key, "acc-tok-4f1c9e"):
        assert secret not in message


def test_saving_and_loading_logs_no_token(pool: Pool, repo: SessionRepository) -> None:
    session = _session()
    with capture_logs() as logs:
        with unit_of_work(pool) as uow:
            repo.save(uow.conn, session)
        with unit_of_work(pool) as uow:
            loaded = repo.latest(uow.conn)
    assert {e["event"] for e in logs} >= {"session_saved", "session_loaded"}
    text = repr(logs) + repr(session) + repr(loaded)
    tokens = [v for k, v in session.session_data.items() if k in TOKEN_FIELDS]
    assert tokens
    for token in tokens:
        assert token not in text
