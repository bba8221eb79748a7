"""The instrument master's owner: loads dumps (a file or Kite's), refreshes them daily.

Every load is one transaction through the COPY-merge loader
(persistence.instruments): a full dump inserts, updates, and deactivates what
it no longer lists, and brings the registry in step. The daily refresh runs at
a wall-clock time in Kolkata (after Kite publishes the day's dump), only with
Kite credentials and a usable stored session; otherwise it logs that it
skipped. A failed refresh is logged and retried with backoff a few times, then
waits for the next day: it never crashes the actor into a restart loop.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, time
from typing import Any

import psycopg
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict

from actors.errors import KiteError, LoginRequired
from actors.schedule import SelfTimers, Teller, next_daily, next_incarnation, retry_delay
from actors.session import Clock, KiteAccess, usable_session, utc_now
from actors.session_expiry import KITE_ZONE
from persistence.cipher import TokenCipher
from persistence.errors import PersistenceError
from persistence.instruments import DumpSource, LoadResult, load_instruments
from persistence.pool import Pool
from persistence.uow import unit_of_work
from supervision import SupervisedActor

log = structlog.get_logger(__name__)

DEFAULT_REFRESH_AT = time(8, 30)
DEFAULT_RETRY_BASE_SECONDS = 300.0
DEFAULT_RETRY_MAX_SECONDS = 3600.0
DEFAULT_MAX_RETRIES = 4
_SHOWN_INVALID = 20

Progress = Callable[[int], None]


class NoKiteSessionError(Exception):
    """No usable Kite session is stored: a fresh `alphap login` is needed."""


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LoadInstrumentsFile(_Message):
    """Load the dump at `path`; `full`: instruments it does not list become inactive."""

    path: str
    full: bool = True
    skip_invalid: bool = False


class RefreshInstruments(_Message):
    """Load today's full dump from Kite; `scheduled_by` and `retry` mark the daily run."""

    scheduled_by: int | None = None
    retry: int = 0
    skip_invalid: bool = False


class ChangeRefreshTime(_Message):
    """Refresh daily at `refresh_at` (Asia/Kolkata) from now on (a reloaded setting)."""

    refresh_at: time


class GetInstrumentsStatus(_Message):
    """Reply with the InstrumentsStatus."""


class InstrumentsLoaded(_Message):
    """What one load did (the loader's counts); `invalid` lists skipped rows, shortened."""

    source: str
    rows: int
    inserted: int
    updated: int
    unchanged: int
    deactivated: int
    reactivated: int
    invalid_rows: int
    invalid: tuple[str, ...] = ()

    @classmethod
    def of(cls, source: str, result: LoadResult) -> InstrumentsLoaded:
        return cls(
            source=source,
            rows=result.rows,
            inserted=result.inserted,
            updated=result.updated,
            unchanged=result.unchanged,
            deactivated=result.deactivated,
            reactivated=result.reactivated,
            invalid_rows=len(result.invalid),
            invalid=tuple(str(p) for p in result.invalid[:_SHOWN_INVALID]),
        )


class LoadOutcome(_Message):
    """The reply to a load: the counts, or why it was skipped or failed."""

    loaded: InstrumentsLoaded | None = None
    skipped: str | None = None
    error: str | None = None


class InstrumentsStatus(_Message):
    """The instrument master as the console shows it."""

    last_loaded_at: AwareDatetime | None
    last_loaded: InstrumentsLoaded | None
    last_error: str | None
    next_refresh_at: AwareDatetime | None
    failures: int


def load_dump(
    pool: Pool,
    source: DumpSource,
    *,
    full: bool = True,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> LoadResult:
    """Load one dump in one transaction (committed on return)."""
    with pool.connection() as conn, conn.transaction():
        return load_instruments(
            conn, source, full=full, skip_invalid=skip_invalid, progress=progress
        )


def stored_access_token(pool: Pool, cipher: TokenCipher, now: datetime) -> str:
    """The access token of the usable stored session; NoKiteSessionError without one."""
    with unit_of_work(pool) as uow:
        session = usable_session(uow.conn, cipher, now)
    if session is None:
        raise NoKiteSessionError("no valid Kite session is stored: run `alphap login`")
    return str(session.session_data["access_token"])


def fetch_kite_dump(
    kite: KiteAccess, access_token: str, on_token_expired: Callable[[], None] | None = None
) -> str:
    """Kite's full instruments dump as CSV text."""
    gateway = kite.gateway(access_token, on_token_expired)
    try:
        return gateway.instruments_csv()
    finally:
        gateway.close()


class InstrumentsActor(SupervisedActor):
    """Owns the instrument master.

    InstrumentsActor(pool, cipher, kite, refresh_at=time(8, 30), myself=None,
                     on_token_expired=None, on_outcome=None, retry_base_seconds=300,
                     retry_max_seconds=3600, max_retries=4, clock=utc_now)

    `kite`: KiteAccess, or None without Kite credentials (daily refreshes are
    then skipped). `refresh_at`: the daily refresh time in Asia/Kolkata
    (ALPHAP_INSTRUMENTS_REFRESH_AT), None for no daily refresh. `myself`
    returns this actor's own handle (the schedule needs it; None disables it).
    `on_token_expired` is called when Kite refuses the stored token (wire it to
    tell the session actor ValidateSession); `on_outcome` receives the outcome
    of every scheduled run. Messages: LoadInstrumentsFile, RefreshInstruments
    (both reply LoadOutcome), GetInstrumentsStatus (InstrumentsStatus),
    ChangeRefreshTime (None; ignored without a daily refresh).
    """

    def __init__(
        self,
        pool: Pool,
        cipher: TokenCipher,
        kite: KiteAccess | None,
        *,
        refresh_at: time | None = DEFAULT_REFRESH_AT,
        myself: Callable[[], Teller] | None = None,
        on_token_expired: Callable[[], None] | None = None,
        on_outcome: Callable[[LoadOutcome], None] | None = None,
        retry_base_seconds: float = DEFAULT_RETRY_BASE_SECONDS,
        retry_max_seconds: float = DEFAULT_RETRY_MAX_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        clock: Clock = utc_now,
    ) -> None:
        self._pool = pool
        self._cipher = cipher
        self._kite = kite
        self._refresh_at = refresh_at
        self._timers = SelfTimers(myself, "instruments")
        self._on_token_expired = on_token_expired
        self._on_outcome = on_outcome
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._max_retries = max_retries
        self._clock = clock
        self._instance = next_incarnation()
        self._next_refresh_at: datetime | None = None
        self._last_loaded_at: datetime | None = None
        self._last_loaded: InstrumentsLoaded | None = None
        self._last_error: str | None = None
        self._failures = 0

    def on_start(self) -> None:
        self._schedule_daily()

    def on_stop(self) -> None:
        self._timers.cancel_all()

    def describe(self) -> dict[str, Any]:
        return self._status().model_dump(mode="json")

    def handle(self, message: Any) -> Any:
        if isinstance(message, GetInstrumentsStatus):
            return self._status()
        if isinstance(message, LoadInstrumentsFile):
            return self._load(
                f"file {message.path}",
                message.path,
                full=message.full,
                skip_invalid=message.skip_invalid,
            )
        if isinstance(message, RefreshInstruments):
            if message.scheduled_by is None:
                return self._refresh(skip_invalid=message.skip_invalid)
            if message.scheduled_by == self._instance:
                return self._scheduled(message)
            return None
        if isinstance(message, ChangeRefreshTime):
            if self._refresh_at is not None:
                # A new incarnation number retires the pending timers of the old time.
                self._refresh_at = message.refresh_at
                self._instance = next_incarnation()
                self._schedule_daily()
            return None
        raise TypeError(f"instruments actor cannot handle {type(message).__name__}")

    # The daily refresh

    def _schedule_daily(self) -> None:
        if self._refresh_at is None or not self._timers.enabled:
            return
        now = self._clock()
        at = next_daily(self._refresh_at, now, KITE_ZONE)
        self._next_refresh_at = at
        self._timers.later(
            (at - now).total_seconds(), RefreshInstruments(scheduled_by=self._instance)
        )
        log.info("instruments_refresh_scheduled", at=at.isoformat())

    def _scheduled(self, message: RefreshInstruments) -> LoadOutcome:
        if message.retry == 0:
            self._schedule_daily()
        outcome = self._refresh(skip_invalid=message.skip_invalid)
        if outcome.error is not None and message.retry < self._max_retries:
            delay = retry_delay(message.retry + 1, self._retry_base, self._retry_max)
            log.info("instruments_refresh_retry_scheduled", retry=message.retry + 1, in_s=delay)
            self._timers.later(
                delay, RefreshInstruments(scheduled_by=self._instance, retry=message.retry + 1)
            )
        if self._on_outcome is not None:
            self._on_outcome(outcome)
        return outcome

    def _refresh(self, *, skip_invalid: bool) -> LoadOutcome:
        kite = self._kite
        if kite is None:
            return self._skipped("Kite API key and secret are not configured")
        try:
            token = stored_access_token(self._pool, self._cipher, self._clock())
        except NoKiteSessionError:
            return self._skipped("no valid Kite session: run `alphap login`")
        except (PersistenceError, psycopg.Error) as exc:
            return self._failed(f"reading the session: {type(exc).__name__}: {exc}")
        try:
            dump = fetch_kite_dump(kite, token, self._token_expired)
        except LoginRequired as exc:
            return self._failed(f"Kite refused the session: {exc}")
        except KiteError as exc:
            return self._failed(f"Kite instruments download failed: {exc}")
        return self._load(
            "kite", io.StringIO(dump, newline=""), full=True, skip_invalid=skip_invalid
        )

    def _token_expired(self) -> None:
        if self._on_token_expired is not None:
            self._on_token_expired()

    # Loading

    def _load(
        self, source: str, dump: DumpSource, *, full: bool, skip_invalid: bool
    ) -> LoadOutcome:
        try:
            result = load_dump(self._pool, dump, full=full, skip_invalid=skip_invalid)
        except (PersistenceError, psycopg.Error, OSError) as exc:
            return self._failed(f"loading from {source}: {exc}")
        loaded = InstrumentsLoaded.of(source, result)
        self._last_loaded = loaded
        self._last_loaded_at = self._clock()
        self._last_error = None
        self._failures = 0
        return LoadOutcome(loaded=loaded)

    def _skipped(self, reason: str) -> LoadOutcome:
        log.info("instruments_refresh_skipped", reason=reason)
        return LoadOutcome(skipped=reason)

    def _failed(self, error: str) -> LoadOutcome:
        self._failures += 1
        self._last_error = error
        log.warning("instruments_load_failed", error=error, failures=self._failures)
        return LoadOutcome(error=error)

    def _status(self) -> InstrumentsStatus:
        return InstrumentsStatus(
            last_loaded_at=self._last_loaded_at,
            last_loaded=self._last_loaded,
            last_error=self._last_error,
            next_refresh_at=self._next_refresh_at,
            failures=self._failures,
        )
