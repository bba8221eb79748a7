"""The session actor against real PostgreSQL and the fake Kite server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from pydantic import SecretStr
from structlog.testing import capture_logs

from actors.kite import RetryPolicy
from actors.session import (
    CompleteLogin,
    GetSessionStatus,
    KiteAccess,
    SessionActor,
    SessionState,
    SessionStatus,
    SweepExpiredSessions,
    ValidateSession,
    complete_login,
)
from actors.session_expiry import access_token_expiry
from persistence.cipher import TokenCipher, generate_key
from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories.sessions import Session, SessionRepository
from persistence.uow import unit_of_work
from supervision import ActorState, ChildSpec, Supervisor
from tests.fixtures.fake_kite import FakeKite, Fault
from tests.unit.supervision.support import WAIT, MemorySink, fast_config

# 11:30 in Kolkata on the fake's login day (it logs in at 10:00 IST on 2026-11-27).
NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
EXPIRY = datetime(2026, 11, 28, 0, 30, tzinfo=UTC)


@pytest.fixture
def pool(database_url: str) -> Iterator[Pool]:
    pool = open_pool(PoolConfig(conninfo=database_url, min_size=1, max_size=4))
    yield pool
    pool.close()


@pytest.fixture
def cipher() -> TokenCipher:
    return TokenCipher([generate_key()])


@pytest.fixture
def kite(fake_kite: FakeKite) -> KiteAccess:
    return KiteAccess(
        fake_kite.api_key,
        SecretStr(fake_kite.api_secret),
        fake_kite.url,
        retry_policy=RetryPolicy(max_attempts=2, backoff_base_s=0.01, backoff_max_s=0.01),
    )


def _run(factory: Callable[[], SessionActor]) -> Supervisor:
    return Supervisor("root", [ChildSpec("session", factory)], config=fast_config(MemorySink()))


@contextmanager
def running(factory: Callable[[], SessionActor]) -> Iterator[Supervisor]:
    root = _run(factory).start()
    with root:
        yield root


def _rows(database_url: str) -> list[tuple[str, bool, datetime, str]]:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT user_id, is_active, expires_at, row_to_json(s)::text FROM trading_sessions s"
        ).fetchall()


def _seed_login(pool: Pool, cipher: TokenCipher, kite: KiteAccess, token: str) -> Session:
    gateway = kite.gateway()
    try:
        return complete_login(gateway, pool, cipher, token, NOW)
    finally:
        gateway.close()


def test_without_a_session_it_runs_degraded_login_required(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite
) -> None:
    with running(lambda: SessionActor(pool, cipher, kite, clock=lambda: NOW)) as root:
        ref = root.ref("session")
        status = ref.ask(GetSessionStatus(), timeout=WAIT)
        assert status == SessionStatus(
            state=SessionState.LOGIN_REQUIRED, detail="no stored session"
        )
        assert ref.info().state == ActorState.DEGRADED
        description = root.tree().children[0].description  # type: ignore[union-attr]
        assert description is not None
        assert description["state"] == "login required"
    assert fake_kite.count("/user/profile") == 0


def test_without_kite_credentials_it_is_degraded_and_never_calls_kite(
    pool: Pool, cipher: TokenCipher, fake_kite: FakeKite
) -> None:
    with running(lambda: SessionActor(pool, cipher, None, access_token=SecretStr("x"))) as root:
        status = root.ref("session").ask(CompleteLogin(request_token=SecretStr("t")), timeout=WAIT)
        assert status.state is SessionState.LOGIN_REQUIRED
        assert root.ref("session").info().state == ActorState.DEGRADED
    assert fake_kite.requests() == []


def test_login_saves_one_encrypted_row_with_the_kite_expiry(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    with running(lambda: SessionActor(pool, cipher, kite, clock=lambda: NOW)) as root:
        ref = root.ref("session")
        first = ref.ask(CompleteLogin(request_token=SecretStr(fake_kite.request_token)), WAIT)
        again = ref.ask(CompleteLogin(request_token=SecretStr(fake_kite.new_request_token())), WAIT)
        assert ref.info().state == ActorState.RUNNING
    for status in (first, again):
        assert status.state is SessionState.ACTIVE
        assert status.user_id == "AP1234"
        assert status.expires_at == EXPIRY
    rows = _rows(database_url)
    assert [(user, active, expires) for user, active, expires, _ in rows] == [
        ("AP1234", True, EXPIRY)
    ]
    assert fake_kite.access_token not in rows[0][3]
    with unit_of_work(pool) as uow:
        stored = SessionRepository(cipher).latest(uow.conn, "AP1234")
    assert stored is not None
    assert stored.session_data["access_token"] == fake_kite.access_token


def test_a_refused_request_token_leaves_the_state_and_the_row_alone(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    with running(lambda: SessionActor(pool, cipher, kite, clock=lambda: NOW)) as root:
        ref = root.ref("session")
        token = SecretStr(fake_kite.request_token)
        assert ref.ask(CompleteLogin(request_token=token), WAIT).state is SessionState.ACTIVE
        reused = ref.ask(CompleteLogin(request_token=token), WAIT)
        assert reused.state is SessionState.ACTIVE
        assert reused.detail is not None and reused.detail.startswith("login failed")
    assert [row[:2] for row in _rows(database_url)] == [("AP1234", True)]


def test_a_token_exception_from_profile_makes_it_degraded_and_deactivates_the_row(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    _seed_login(pool, cipher, kite, fake_kite.request_token)
    with running(lambda: SessionActor(pool, cipher, kite, clock=lambda: NOW)) as root:
        ref = root.ref("session")
        assert ref.ask(GetSessionStatus(), WAIT).state is SessionState.ACTIVE
        assert ref.info().state == ActorState.RUNNING
        fake_kite.fail_next(Fault.TOKEN, path="/user/profile")
        status = ref.ask(ValidateSession(), WAIT)
        assert status.state is SessionState.LOGIN_REQUIRED
        assert ref.info().state == ActorState.DEGRADED
    assert [row[:2] for row in _rows(database_url)] == [("AP1234", False)]


def test_a_stored_session_kite_flushed_is_found_dead_at_start(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite
) -> None:
    _seed_login(pool, cipher, kite, fake_kite.request_token)
    fake_kite.expire_session()
    with running(lambda: SessionActor(pool, cipher, kite, clock=lambda: NOW)) as root:
        status = root.ref("session").ask(GetSessionStatus(), WAIT)
        assert status.state is SessionState.LOGIN_REQUIRED
        assert root.ref("session").info().state == ActorState.DEGRADED


def test_kite_unreachable_keeps_the_session_but_reports_it_unverified(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    _seed_login(pool, cipher, kite, fake_kite.request_token)
    fake_kite.fail_next(Fault.UNAVAILABLE, times=2, path="/user/profile")
    with running(lambda: SessionActor(pool, cipher, kite, clock=lambda: NOW)) as root:
        ref = root.ref("session")
        assert ref.ask(GetSessionStatus(), WAIT).state is SessionState.UNVERIFIED
        assert ref.ask(ValidateSession(), WAIT).state is SessionState.ACTIVE
    assert [row[:2] for row in _rows(database_url)] == [("AP1234", True)]


def _session(user_id: str, expires_at: datetime) -> Session:
    return Session(
        user_id=user_id,
        session_id=f"s-{user_id}",
        session_data={"access_token": f"tok-{user_id}"},
        expires_at=expires_at,
    )


def test_sweep_marks_expired_sessions_inactive_and_the_current_one_lost(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    with unit_of_work(pool) as uow:
        for user, expires in (("OLD1", NOW - timedelta(hours=1)), ("NEW1", NOW + timedelta(1))):
            SessionRepository(cipher).save(uow.conn, _session(user, expires))
    _seed_login(pool, cipher, kite, fake_kite.request_token)
    now = [NOW]
    with running(lambda: SessionActor(pool, cipher, kite, clock=lambda: now[0])) as root:
        ref = root.ref("session")
        assert ref.ask(GetSessionStatus(), WAIT).state is SessionState.ACTIVE
        assert ref.ask(SweepExpiredSessions(), WAIT) == 1
        now[0] = EXPIRY
        assert ref.ask(SweepExpiredSessions(), WAIT) == 1
        assert ref.ask(GetSessionStatus(), WAIT).state is SessionState.LOGIN_REQUIRED
        assert ref.info().state == ActorState.DEGRADED
    active = {user: is_active for user, is_active, _, _ in _rows(database_url)}
    assert active == {"AP1234": False, "OLD1": False, "NEW1": True}


def test_the_sweep_runs_on_its_own_schedule(
    pool: Pool, cipher: TokenCipher, database_url: str
) -> None:
    with unit_of_work(pool) as uow:
        SessionRepository(cipher).save(uow.conn, _session("OLD1", NOW - timedelta(hours=1)))
    calls = 0
    swept_twice = threading.Event()

    def clock() -> datetime:
        nonlocal calls
        calls += 1
        if calls >= 2:
            swept_twice.set()
        return NOW

    holder: dict[str, Supervisor] = {}
    root = _run(
        lambda: SessionActor(
            pool,
            cipher,
            None,
            myself=lambda: holder["root"].ref("session"),
            sweep_seconds=0.01,
            clock=clock,
        )
    )
    holder["root"] = root
    with root.start():
        assert swept_twice.wait(WAIT)
        # Queued behind the running sweep, so it answers once that sweep committed.
        root.ref("session").ask(GetSessionStatus(), WAIT)
    assert [row[:2] for row in _rows(database_url)] == [("OLD1", False)]


def test_a_token_from_the_settings_is_validated_then_saved(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    token = SecretStr(fake_kite.access_token)
    with running(
        lambda: SessionActor(pool, cipher, kite, access_token=token, clock=lambda: NOW)
    ) as root:
        status = root.ref("session").ask(GetSessionStatus(), WAIT)
    assert status.state is SessionState.ACTIVE
    assert status.user_id == "AP1234"
    assert status.expires_at == access_token_expiry(NOW)
    assert fake_kite.authorizations("/user/profile") == [fake_kite.expected_authorization]
    rows = _rows(database_url)
    assert [row[:3] for row in rows] == [("AP1234", True, access_token_expiry(NOW))]
    assert fake_kite.access_token not in rows[0][3]


def test_a_refused_token_from_the_settings_is_not_saved(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, database_url: str
) -> None:
    with running(
        lambda: SessionActor(
            pool,
            cipher,
            kite,
            access_token=SecretStr("unknownaccesstoken0123456789abcd"),
            clock=lambda: NOW,
        )
    ) as root:
        status = root.ref("session").ask(GetSessionStatus(), WAIT)
    assert status.state is SessionState.LOGIN_REQUIRED
    assert _rows(database_url) == []


def test_no_token_or_secret_reaches_the_logs_or_the_description(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite
) -> None:
    request_token = fake_kite.request_token
    root = _run(lambda: SessionActor(pool, cipher, kite, clock=lambda: NOW))
    with capture_logs() as logs, root.start():
        ref = root.ref("session")
        ref.ask(CompleteLogin(request_token=SecretStr(request_token)), WAIT)
        ref.ask(CompleteLogin(request_token=SecretStr(request_token)), WAIT)
        fake_kite.fail_next(Fault.TOKEN, path="/user/profile")
        ref.ask(ValidateSession(), WAIT)
        description = root.tree().children[0].description  # type: ignore[union-attr]
    text = repr(logs) + repr(description)
    assert any(event["event"] == "kite_login_completed" for event in logs)
    assert any(event["event"] == "kite_token_rejected" for event in logs)
    for secret in (fake_kite.access_token, request_token, fake_kite.api_secret):
        assert secret not in text
