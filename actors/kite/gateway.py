"""The one door from alphap to Kite Connect's HTTP API.

Wraps the official client (`kiteconnect.KiteConnect`, pointed at the configured
root), so the wire format, checksum and error mapping stay Kite's own. Adds
what the client lacks: retries of transient failures with backoff, a
client-side rate limit, our own error types, and secrets kept out of logs and
exception messages. One gateway belongs to one actor: the underlying
`requests.Session` is not shared between threads (the rate limiter may be).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import kiteconnect
import kiteconnect.exceptions as kite_errors
import requests
import structlog
from pydantic import SecretStr
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from actors.errors import KiteRejectedError, KiteUnavailableError, LoginRequired
from actors.kite.rate_limit import TokenBucket
from actors.kite.retry import RetryPolicy, http_status, is_transient
from actors.session_expiry import kite_login_time
from supervision.redaction import DEFAULT_REDACTOR, Redactor

log = structlog.get_logger(__name__)

DEFAULT_TIMEOUT_S = 7.0

T = TypeVar("T")


def _reveal(value: SecretStr | str) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


class KiteGateway:
    """Kite Connect calls alphap needs, retried, rate limited and redacted."""

    def __init__(
        self,
        api_key: str,
        api_secret: SecretStr | str,
        root: str,
        access_token: SecretStr | str | None = None,
        timeout: float = DEFAULT_TIMEOUT_S,
        *,
        retry_policy: RetryPolicy | None = None,
        rate_limiter: TokenBucket | None = None,
        on_token_expired: Callable[[], None] | None = None,
        redactor: Redactor = DEFAULT_REDACTOR,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api_secret = _reveal(api_secret)
        self._redactor = redactor
        self._redactor.register([self._api_secret])
        self._policy = retry_policy or RetryPolicy()
        self._limiter = rate_limiter or TokenBucket()
        self._on_token_expired = on_token_expired
        self._sleep = sleep
        self._client = kiteconnect.KiteConnect(api_key, root=root, timeout=timeout)
        self.set_access_token(access_token)

    def set_access_token(self, access_token: SecretStr | str | None) -> None:
        """Use a stored session (or none) for the calls that follow."""
        token = None if access_token is None else _reveal(access_token)
        if token:
            self._redactor.register([token])
        self._client.set_access_token(token or None)

    @property
    def has_session(self) -> bool:
        """True when an access token is set (not whether Kite still accepts it)."""
        return bool(self._client.access_token)

    def login_url(self) -> str:
        """Where the user logs in; Kite redirects back with a request token."""
        return str(self._client.login_url())

    def generate_session(self, request_token: SecretStr | str) -> dict[str, Any]:
        """Exchange a request token for a session; `login_time` comes back aware, in UTC."""
        token = _reveal(request_token)
        self._redactor.register([token])
        data: dict[str, Any] = self._call(
            "generate_session", lambda: self._client.generate_session(token, self._api_secret)
        )
        self.set_access_token(data.get("access_token"))
        data["login_time"] = kite_login_time(data["login_time"])
        return data

    def profile(self) -> dict[str, Any]:
        """The user's profile; the cheapest call that proves the session is alive."""
        profile: dict[str, Any] = self._call("profile", self._client.profile)
        return profile

    def instruments_csv(self, exchange: str | None = None) -> str:
        """Kite's instrument dump as the raw CSV text, for the COPY loader."""
        # The client's public instruments() parses prices into floats; the raw
        # CSV only comes from its _get, which sends the same request with the
        # same headers and error mapping, and returns CSV bodies as bytes.
        if exchange:
            route, args = "market.instruments", {"exchange": exchange}
        else:
            route, args = "market.instruments.all", None
        body = self._call("instruments", lambda: self._client._get(route, url_args=args))
        if not isinstance(body, bytes):
            raise KiteUnavailableError("instruments: Kite answered without a CSV body")
        return body.decode("utf-8")

    def invalidate(self) -> None:
        """Log out: Kite forgets the access token. A session already dead counts as done."""
        if not self.has_session:
            return
        try:
            self._call("invalidate", self._client.invalidate_access_token, report_expiry=False)
        except LoginRequired:
            log.info("kite_session_already_invalid")
        self._client.set_access_token(None)

    def close(self) -> None:
        """Release the HTTP connections; the gateway is not used afterwards."""
        self._client.reqsession.close()

    def _call(self, name: str, request: Callable[[], T], *, report_expiry: bool = True) -> T:
        retrying = Retrying(
            stop=stop_after_attempt(self._policy.max_attempts),
            wait=lambda state: self._policy.wait_before_retry(state.attempt_number),
            retry=retry_if_exception(is_transient),
            before_sleep=lambda state: self._log_retry(name, state),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            result: T = retrying(self._limited, request)
        except kite_errors.TokenException as exc:
            if report_expiry:
                self._token_expired(name)
            raise LoginRequired(self._describe(name, exc), http_status(exc)) from None
        except (kite_errors.KiteException, requests.RequestException) as exc:
            error = KiteUnavailableError if is_transient(exc) else KiteRejectedError
            log.warning("kite_call_failed", call=name, error=self._describe(name, exc))
            raise error(self._describe(name, exc), http_status(exc)) from None
        return result

    def _limited(self, request: Callable[[], T]) -> T:
        self._limiter.acquire()
        return request()

    def _log_retry(self, name: str, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "kite_call_retrying",
            call=name,
            attempt=state.attempt_number,
            wait_s=state.next_action.sleep if state.next_action is not None else None,
            status=http_status(error) if error is not None else None,
            error=self._describe(name, error) if error is not None else None,
        )

    def _token_expired(self, name: str) -> None:
        log.warning("kite_token_rejected", call=name)
        if self._on_token_expired is None:
            return
        try:
            self._on_token_expired()
        except Exception as exc:
            log.exception("kite_token_expired_hook_failed", error=self._describe(name, exc))

    def _describe(self, name: str, error: BaseException) -> str:
        return self._redactor.text(f"{name}: {type(error).__name__}: {error}")
