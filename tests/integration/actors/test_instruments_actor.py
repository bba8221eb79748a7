"""The instruments actor: loads from files and Kite, the daily refresh and its retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import psycopg
import pytest
from pydantic import SecretStr

from actors.instruments import (
    GetInstrumentsStatus,
    InstrumentsActor,
    LoadInstrumentsFile,
    LoadOutcome,
    RefreshInstruments,
)
from actors.kite import RetryPolicy
from actors.session import KiteAccess
from actors.session_expiry import KITE_ZONE
from alphap.instrument_master import generate_dump
from persistence.cipher import TokenCipher, generate_key
from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories.sessions import Session, SessionRepository
from persistence.uow import unit_of_work
from supervision import ActorState, ChildSpec, Supervisor
from tests.fixtures.fake_kite import DATA_DIR, FakeKite, Fault, Reply
from tests.unit.supervision.support import WAIT, MemorySink, fast_config

NOW = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
KITE_ROWS = 20


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


def _store_session(pool: Pool, cipher: TokenCipher, token: str, expires_at: datetime) -> None:
    session = Session(
        user_id="AP1234",
        session_id="s1",
        session_data={"access_token": token},
        expires_at=expires_at,
    )
    with unit_of_work(pool) as uow:
        SessionRepository(cipher).save(uow.conn, session)


@contextmanager
def running(
    factory: Callable[[Callable[[], Supervisor]], InstrumentsActor],
) -> Iterator[Supervisor]:
    holder: dict[str, Supervisor] = {}
    root = Supervisor(
        "root",
        [ChildSpec("instruments", lambda: factory(lambda: holder["root"]))],
        config=fast_config(MemorySink()),
    )
    holder["root"] = root
    root.start()
    with root:
        yield root


def _active(database_url: str) -> tuple[int, int]:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(
            "SELECT count(*) FILTER (WHERE active), count(*) FILTER (WHERE NOT active)"
            " FROM instruments"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_a_file_loads_then_reloads_unchanged(
    pool: Pool, cipher: TokenCipher, tmp_path: Path, database_url: str
) -> None:
    path = tmp_path / "dump.csv"
    with path.open("w", newline="") as out:
        generate_dump(400, seed=5, out=out)
    with running(lambda _: InstrumentsActor(pool, cipher, None, refresh_at=None)) as root:
        ref = root.ref("instruments")
        first = ref.ask(LoadInstrumentsFile(path=str(path)), WAIT)
        second = ref.ask(LoadInstrumentsFile(path=str(path)), WAIT)
        missing = ref.ask(LoadInstrumentsFile(path=str(tmp_path / "absent.csv")), WAIT)
        status = ref.ask(GetInstrumentsStatus(), WAIT)
        assert ref.info().state == ActorState.RUNNING
    assert first.loaded is not None and second.loaded is not None
    assert (first.loaded.rows, first.loaded.inserted, first.loaded.unchanged) == (400, 400, 0)
    assert (second.loaded.inserted, second.loaded.updated, second.loaded.unchanged) == (0, 0, 400)
    assert missing.loaded is None and missing.error is not None
    assert status.last_loaded == second.loaded
    assert status.failures == 1
    assert _active(database_url) == (400, 0)


def test_a_kite_refresh_needs_credentials_and_a_valid_session(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    with running(lambda _: InstrumentsActor(pool, cipher, None, refresh_at=None)) as root:
        skipped = root.ref("instruments").ask(RefreshInstruments(), WAIT)
    assert skipped == LoadOutcome(skipped="Kite API key and secret are not configured")

    _store_session(pool, cipher, fake_kite.access_token, NOW - timedelta(minutes=1))
    actor = lambda _: InstrumentsActor(pool, cipher, kite, refresh_at=None, clock=lambda: NOW)  # noqa: E731 - a factory
    with running(actor) as root:
        expired = root.ref("instruments").ask(RefreshInstruments(), WAIT)
    assert expired.skipped is not None and "alphap login" in expired.skipped
    assert fake_kite.count("/instruments") == 0
    assert _active(database_url) == (0, 0)


def test_a_kite_refresh_loads_the_full_dump_and_deactivates_what_it_drops(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    _store_session(pool, cipher, fake_kite.access_token, NOW + timedelta(hours=12))
    actor = lambda _: InstrumentsActor(pool, cipher, kite, refresh_at=None, clock=lambda: NOW)  # noqa: E731 - a factory
    with running(actor) as root:
        ref = root.ref("instruments")
        first = ref.ask(RefreshInstruments(), WAIT)
        lines = (DATA_DIR / "instruments.csv").read_bytes().splitlines(keepends=True)
        fake_kite.respond(
            "GET", "/instruments", Reply.csv(b"".join(lines[:-3])), authenticated=False
        )
        second = ref.ask(RefreshInstruments(), WAIT)
    assert first.loaded is not None and second.loaded is not None
    assert (first.loaded.source, first.loaded.inserted) == ("kite", KITE_ROWS)
    assert (second.loaded.unchanged, second.loaded.deactivated) == (KITE_ROWS - 3, 3)
    assert _active(database_url) == (KITE_ROWS - 3, 3)
    assert fake_kite.authorizations("/instruments")[0] == fake_kite.expected_authorization


def test_a_failed_kite_download_is_reported_and_the_actor_goes_on(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    _store_session(pool, cipher, fake_kite.access_token, NOW + timedelta(hours=12))
    expired = threading.Event()
    actor = lambda _: InstrumentsActor(  # noqa: E731 - a factory
        pool, cipher, kite, refresh_at=None, clock=lambda: NOW, on_token_expired=expired.set
    )
    with running(actor) as root:
        ref = root.ref("instruments")
        fake_kite.fail_next(Fault.SERVER_ERROR, times=2, path="/instruments")
        failed = ref.ask(RefreshInstruments(), WAIT)
        fake_kite.fail_next(Fault.TOKEN, path="/instruments")
        refused = ref.ask(RefreshInstruments(), WAIT)
        assert ref.ask(GetInstrumentsStatus(), WAIT).failures == 2
        assert ref.info().restarts == 0
    assert failed.error is not None and "instruments download failed" in failed.error
    assert refused.error is not None and "refused" in refused.error
    assert expired.is_set()
    assert _active(database_url) == (0, 0)


def test_the_daily_refresh_fires_at_its_time_and_retries_a_failure(
    pool: Pool, cipher: TokenCipher, kite: KiteAccess, fake_kite: FakeKite, database_url: str
) -> None:
    # The clock shows 08:29:59.9 in Kolkata when the actor starts, then runs on in real time.
    start = datetime(2026, 11, 27, 8, 29, 59, 900_000, tzinfo=KITE_ZONE)
    started = time.monotonic()

    def clock() -> datetime:
        return start + timedelta(seconds=time.monotonic() - started)

    _store_session(pool, cipher, fake_kite.access_token, start + timedelta(hours=12))
    outcomes: list[LoadOutcome] = []
    done = threading.Event()

    def record(outcome: LoadOutcome) -> None:
        outcomes.append(outcome)
        if outcome.loaded is not None:
            done.set()

    fake_kite.fail_next(Fault.UNAVAILABLE, times=2, path="/instruments")
    actor = lambda myself: InstrumentsActor(  # noqa: E731 - a factory
        pool,
        cipher,
        kite,
        refresh_at=clock_time(8, 30),
        myself=lambda: myself().ref("instruments"),
        on_outcome=record,
        retry_base_seconds=0.01,
        clock=clock,
    )
    with running(actor) as root:
        assert done.wait(WAIT)
        status = root.ref("instruments").ask(GetInstrumentsStatus(), WAIT)
    assert [o.error is not None for o in outcomes] == [True, False]
    assert status.next_refresh_at == datetime(2026, 11, 28, 8, 30, tzinfo=KITE_ZONE)
    assert _active(database_url) == (KITE_ROWS, 0)
