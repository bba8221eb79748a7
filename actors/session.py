"""The Kite session: login, validation, expiry and persistence, owned by one actor.

The session actor is the only writer of trading_sessions inside the daemon.
It starts from the latest stored session (or a token from the settings,
validated first); without a usable one it runs degraded, "login required",
and paper trading goes on. `alphap login` completes a login outside the daemon
through `complete_login`, the same code the actor's `CompleteLogin` uses; the
upsert on user_id keeps one row per user whoever writes it.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr

from actors.errors import KiteError, LoginRequired
from actors.kite import DEFAULT_TIMEOUT_S, KiteGateway, RetryPolicy
from actors.schedule import SelfTimers, Teller, next_incarnation
from actors.session_expiry import access_token_expiry
from persistence.cipher import TokenCipher
from persistence.errors import PersistenceError
from persistence.pool import Pool
from persistence.repositories.sessions import Session, SessionRepository
from persistence.uow import unit_of_work
from supervision import SupervisedActor

log = structlog.get_logger(__name__)

DEFAULT_SWEEP_SECONDS = 300.0
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class KiteAccess:
    """How to reach Kite: the app's API key and secret and the API root (ALPHAP_KITE_*)."""

    api_key: str
    api_secret: SecretStr
    root: str
    timeout: float = DEFAULT_TIMEOUT_S
    retry_policy: RetryPolicy | None = None

    def gateway(
        self,
        access_token: SecretStr | str | None = None,
        on_token_expired: Callable[[], None] | None = None,
    ) -> KiteGateway:
        """A new gateway (one per actor or command: it is not shared between threads)."""
        return KiteGateway(
            self.api_key,
            self.api_secret,
            self.root,
            access_token,
            self.timeout,
            retry_policy=self.retry_policy,
            on_token_expired=on_token_expired,
        )


class SessionState(enum.StrEnum):
    """What the daemon can do with Kite now."""

    ACTIVE = "active"
    LOGIN_REQUIRED = "login required"
    UNVERIFIED = "kite unreachable"
    DATABASE_UNAVAILABLE = "database unavailable"


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CompleteLogin(_Message):
    """Exchange the request token of a browser login for a session, and store it."""

    request_token: SecretStr


class ValidateSession(_Message):
    """Ask Kite whether the current session still works (the profile call)."""


class SweepExpiredSessions(_Message):
    """Deactivate stored sessions past their expiry; `scheduled_by` marks the periodic one."""

    scheduled_by: int | None = None


class ChangeSweepInterval(_Message):
    """Sweep every `sweep_seconds` from now on (a reloaded ALPHAP_SESSION_SWEEP_SECONDS)."""

    sweep_seconds: float = Field(gt=0)


class GetSessionStatus(_Message):
    """Reply with the SessionStatus (for the console); never includes a token."""


class SessionStatus(_Message):
    """The session as operators may see it: no token, ever."""

    state: SessionState
    user_id: str | None = None
    expires_at: AwareDatetime | None = None
    last_validated: AwareDatetime | None = None
    detail: str | None = None


def session_from_kite(data: dict[str, Any], now: datetime) -> Session:
    """The Session to store for Kite's generate_session answer (login_time aware, UTC)."""
    login_time: datetime = data["login_time"]
    stored = {k: v for k, v in data.items() if v is not None and k != "login_time"}
    stored["login_time"] = login_time.isoformat()
    return Session(
        user_id=str(data["user_id"]),
        session_id=uuid.uuid4().hex,
        broker=str(data.get("broker") or "zerodha").lower(),
        session_data=stored,
        expires_at=access_token_expiry(login_time),
        start_time=login_time,
        last_validated=now,
    )


def complete_login(
    gateway: KiteGateway,
    pool: Pool,
    cipher: TokenCipher,
    request_token: SecretStr | str,
    now: datetime,
) -> Session:
    """Generate a session from a request token and upsert it (tokens encrypted); the Session."""
    session = session_from_kite(gateway.generate_session(request_token), now)
    with unit_of_work(pool) as uow:
        SessionRepository(cipher).save(uow.conn, session)
    log.info("kite_login_completed", user_id=session.user_id, expires_at=session.expires_at)
    return session


def usable_session(
    conn: psycopg.Connection[Any], cipher: TokenCipher, now: datetime
) -> Session | None:
    """The latest stored session if it is active, unexpired and holds an access token."""
    session = SessionRepository(cipher).latest(conn)
    if session is None or not session.is_active or session.expires_at <= now:
        return None
    if not session.session_data.get("access_token"):
        return None
    return session


class SessionActor(SupervisedActor):
    """Owns the Kite session.

    SessionActor(pool, cipher, kite, access_token=None, myself=None,
                 sweep_seconds=300.0, clock=utc_now)

    `kite`: KiteAccess, or None when no Kite credentials are configured (then
    it stays degraded, "login required"). `access_token`: ALPHAP_KITE_ACCESS_TOKEN,
    used when no usable session is stored (validated with the profile call, then
    saved). `myself`: returns this actor's own handle, for the sweep every
    `sweep_seconds`; None disables the schedule. Messages: CompleteLogin,
    ValidateSession, SweepExpiredSessions, GetSessionStatus (each replies with a
    SessionStatus, the sweep with the number of sessions deactivated),
    ChangeSweepInterval (None).
    """

    def __init__(
        self,
        pool: Pool,
        cipher: TokenCipher,
        kite: KiteAccess | None,
        *,
        access_token: SecretStr | str | None = None,
        myself: Callable[[], Teller] | None = None,
        sweep_seconds: float = DEFAULT_SWEEP_SECONDS,
        clock: Clock = utc_now,
    ) -> None:
        self._pool = pool
        self._cipher = cipher
        self._kite = kite
        self._configured_token = (
            access_token.get_secret_value() if isinstance(access_token, SecretStr) else access_token
        )
        self._sweep_seconds = sweep_seconds
        self._clock = clock
        self._timers = SelfTimers(myself, "session")
        self._instance = next_incarnation()
        self._gateway: KiteGateway | None = None
        self._session: Session | None = None
        self._state = SessionState.LOGIN_REQUIRED
        self._detail: str | None = None
        self._logging_in = False

    # Lifecycle

    def on_start(self) -> None:
        self._timers.later(self._sweep_seconds, SweepExpiredSessions(scheduled_by=self._instance))
        self._load()

    def _load(self) -> None:
        if self._kite is None:
            self._require_login("Kite API key and secret are not configured")
            return
        if self._gateway is None:
            self._gateway = self._kite.gateway(on_token_expired=self._token_expired)
        try:
            with unit_of_work(self._pool) as uow:
                stored = usable_session(uow.conn, self._cipher, self._clock())
        except (PersistenceError, psycopg.Error) as exc:
            self._set(
                SessionState.DATABASE_UNAVAILABLE, f"loading the session: {type(exc).__name__}"
            )
            return
        if stored is not None:
            self._session = stored
            self._validate()
        elif self._configured_token:
            self._adopt_configured_token(self._configured_token)
        else:
            self._require_login("no stored session")

    def on_stop(self) -> None:
        self._timers.cancel_all()
        if self._gateway is not None:
            self._gateway.close()

    def describe(self) -> dict[str, Any]:
        return self._status().model_dump(mode="json")

    # Messages

    def handle(self, message: Any) -> Any:
        if isinstance(message, GetSessionStatus):
            return self._status()
        if isinstance(message, CompleteLogin):
            return self._complete_login(message.request_token)
        if isinstance(message, ValidateSession):
            if self._state is SessionState.DATABASE_UNAVAILABLE:
                self._load()
            elif self._session is not None:
                self._validate()
            return self._status()
        if isinstance(message, SweepExpiredSessions):
            if message.scheduled_by is not None:
                if message.scheduled_by != self._instance:
                    return 0
                self._timers.later(self._sweep_seconds, message)
            return self._sweep()
        if isinstance(message, ChangeSweepInterval):
            # A new incarnation number retires the pending timer of the old interval.
            self._sweep_seconds = message.sweep_seconds
            self._instance = next_incarnation()
            self._timers.later(
                self._sweep_seconds, SweepExpiredSessions(scheduled_by=self._instance)
            )
            log.info("session_sweep_interval_changed", sweep_seconds=message.sweep_seconds)
            return None
        raise TypeError(f"session actor cannot handle {type(message).__name__}")

    def _complete_login(self, request_token: SecretStr) -> SessionStatus:
        if self._gateway is None:
            return self._status(detail="Kite API key and secret are not configured")
        self._logging_in = True
        try:
            session = complete_login(
                self._gateway, self._pool, self._cipher, request_token, self._clock()
            )
        except KiteError as exc:
            log.warning("kite_login_failed", error=str(exc))
            return self._status(detail=f"login failed: {exc}")
        except (PersistenceError, psycopg.Error) as exc:
            # Not retried: the request token is spent, only a new login can help.
            log.exception("kite_login_not_stored", error=type(exc).__name__)
            return self._status(detail=f"login not stored: {type(exc).__name__}")
        finally:
            self._logging_in = False
        self._session = session
        self._set(SessionState.ACTIVE, None)
        return self._status()

    def _sweep(self) -> int:
        now = self._clock()
        try:
            with unit_of_work(self._pool) as uow:
                swept = SessionRepository(self._cipher).mark_expired(uow.conn, now)
        except (PersistenceError, psycopg.Error) as exc:
            log.warning("session_sweep_failed", error=type(exc).__name__)
            return 0
        if swept:
            log.info("sessions_expired", count=swept)
        session = self._session
        if session is not None and session.expires_at <= now:
            self._session = session.model_copy(update={"is_active": False})
            self._require_login("the session expired")
        elif self._state is SessionState.UNVERIFIED and session is not None:
            self._validate()
        elif self._state is SessionState.DATABASE_UNAVAILABLE:
            self._load()
        return swept

    # Validation

    def _validate(self) -> None:
        session, gateway = self._session, self._gateway
        if session is None or gateway is None:
            return
        gateway.set_access_token(session.session_data.get("access_token"))
        try:
            profile = gateway.profile()
        except LoginRequired:
            self._deactivate(session)
            return
        except KiteError as exc:
            self._set(SessionState.UNVERIFIED, str(exc))
            return
        if str(profile.get("user_id")) != session.user_id:
            log.warning("kite_profile_user_mismatch", user_id=session.user_id)
        self._session = self._save(session.model_copy(update={"last_validated": self._clock()}))
        self._set(SessionState.ACTIVE, None)

    def _adopt_configured_token(self, token: str) -> None:
        gateway = self._gateway
        assert gateway is not None
        gateway.set_access_token(token)
        try:
            profile = gateway.profile()
        except LoginRequired:
            self._require_login("the configured access token was refused")
            return
        except KiteError as exc:
            self._set(SessionState.UNVERIFIED, f"configured access token unverified: {exc}")
            return
        now = self._clock()
        data = {"access_token": token, "api_key": self._kite.api_key if self._kite else None}
        data.update({k: profile[k] for k in ("user_id", "user_name", "broker") if profile.get(k)})
        self._session = self._save(
            Session(
                user_id=str(profile["user_id"]),
                session_id=uuid.uuid4().hex,
                session_data={k: v for k, v in data.items() if v is not None},
                expires_at=access_token_expiry(now),
                start_time=now,
                last_validated=now,
            )
        )
        log.info("kite_configured_token_adopted", user_id=profile["user_id"])
        self._set(SessionState.ACTIVE, None)

    def _deactivate(self, session: Session) -> None:
        now = self._clock()
        self._session = self._save(session.model_copy(update={"is_active": False, "end_time": now}))
        self._require_login("Kite refused the access token")

    def _save(self, session: Session) -> Session:
        try:
            with unit_of_work(self._pool) as uow:
                SessionRepository(self._cipher).save(uow.conn, session)
        except (PersistenceError, psycopg.Error) as exc:
            log.warning("session_save_failed", user_id=session.user_id, error=type(exc).__name__)
        return session

    def _token_expired(self) -> None:
        if not self._logging_in:
            self._require_login("Kite refused the access token")

    # State

    def _require_login(self, reason: str) -> None:
        self._set(SessionState.LOGIN_REQUIRED, reason)

    def _set(self, state: SessionState, detail: str | None) -> None:
        if state is not self._state or detail != self._detail:
            log_event = log.info if state is SessionState.ACTIVE else log.warning
            log_event("kite_session_state", state=state.value, detail=detail)
        self._state = state
        self._detail = detail
        self.set_degraded(state is not SessionState.ACTIVE)

    def _status(self, detail: str | None = None) -> SessionStatus:
        session = self._session
        return SessionStatus(
            state=self._state,
            user_id=session.user_id if session else None,
            expires_at=session.expires_at if session else None,
            last_validated=session.last_validated if session else None,
            detail=detail or self._detail,
        )
