"""No secret in what alphap prints or logs, at every level, whatever carries it.

Console output and logs of `alphap login` and `alphap keys rotate` at DEBUG
through the real JSON renderer; the raw events as the code emits them
(capture_logs, before any redaction); settings errors; exception messages from
kiteconnect and psycopg, including a malformed DSN that libpq quotes back; and
warnings of the libraries' standard-library loggers.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator

import kiteconnect
import psycopg
import pytest
import structlog
from psycopg_pool import ConnectionPool, PoolTimeout
from pydantic import SecretStr
from structlog.testing import capture_logs

from actors.errors import LoginRequired
from actors.session import KiteAccess, complete_login, utc_now
from alphap.cli import main
from alphap.logs import _StdlibBridge, configure_logging
from alphap.settings import Settings
from persistence.cipher import TokenCipher, generate_key
from persistence.pool import PoolConfig, open_pool
from persistence.repositories.sessions import SessionRepository
from persistence.uow import unit_of_work
from supervision.redaction import DEFAULT_REDACTOR, Redactor
from tests.fixtures.fake_kite import FakeKite, Reply
from tests.integration.security.secrets_support import json_lines, kite_secrets, leaks

DB_PASSWORD = "Db-Pa55word-7h9k"  # noqa: S105 - a fake secret the tests hunt for


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    """alphap's real logging at DEBUG, JSON lines into a stream; reset afterwards."""
    stream = io.StringIO()
    configure_logging("DEBUG", "json", stream=stream, redactor=DEFAULT_REDACTOR)
    yield stream
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StdlibBridge)]:
        root.removeHandler(handler)


def test_login_and_key_rotation_at_debug_show_no_secret(
    kite_env: FakeKite,
    token_key: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = kite_env
    monkeypatch.setenv("ALPHAP_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("ALPHAP_LOG_FORMAT", "json")
    assert main(["login", "--request-token", fake.request_token]) == 0
    second = fake.new_request_token()
    assert main(["login", "--json", "--request-token", second]) == 0
    new_key = generate_key()
    monkeypatch.setenv("ALPHAP_TOKEN_KEYS", f"{new_key},{token_key}")
    assert main(["keys", "rotate"]) == 0
    captured = capsys.readouterr()
    secrets = {**kite_secrets(fake, second), "old_key": token_key, "new_key": new_key}
    assert leaks(captured.out + captured.err, secrets) == []
    assert re.search(r"rotated [1-9]\d* token", captured.out)
    events = json_lines(captured.err)
    assert {"session_saved", "kite_login_completed"} <= {e["event"] for e in events}
    assert "debug" in {e["level"] for e in events}


def test_the_code_hands_no_secret_to_a_log_call(
    fake_kite: FakeKite, database_url: str, redis_prefix: str
) -> None:
    """capture_logs sees events before any processor: nothing relies on the redactor."""
    cipher = TokenCipher([generate_key()])
    access = KiteAccess(fake_kite.api_key, SecretStr(fake_kite.api_secret), fake_kite.url)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        with (
            capture_logs() as events,
            open_pool(PoolConfig(database_url, name=redis_prefix)) as pool,
        ):
            gateway = access.gateway()
            try:
                complete_login(gateway, pool, cipher, fake_kite.request_token, utc_now())
            finally:
                gateway.close()
            with unit_of_work(pool) as uow:
                repository = SessionRepository(cipher)
                assert repository.latest(uow.conn) is not None
                repository.rotate_tokens(uow.conn)
    finally:
        structlog.reset_defaults()
    assert {"session_saved", "session_loaded"} <= {e["event"] for e in events}
    assert leaks(repr(events), kite_secrets(fake_kite)) == []


def test_settings_errors_name_the_setting_never_its_value(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "kite-Api-S3cret-value"  # noqa: S105 - a fake secret
    monkeypatch.setenv("ALPHAP_KITE_API_SECRET", secret)
    monkeypatch.setenv("ALPHAP_DATABASE_URL", f"postgresql://u:{DB_PASSWORD}@127.0.0.1:1/db")
    monkeypatch.setenv("ALPHAP_DB_POOL_MIN_SIZE", "-1")
    monkeypatch.setenv("ALPHAP_LOG_LEVEL", secret)
    assert main(["keys", "rotate"]) == 2
    err = capsys.readouterr().err
    assert "ALPHAP_DB_POOL_MIN_SIZE" in err and "ALPHAP_LOG_LEVEL" in err
    monkeypatch.delenv("ALPHAP_DB_POOL_MIN_SIZE")
    monkeypatch.delenv("ALPHAP_LOG_LEVEL")
    bad_key = "not-a-fernet-key-but-Secret-9"
    monkeypatch.setenv("ALPHAP_TOKEN_KEYS", f"{generate_key()},{bad_key}")
    assert main(["keys", "rotate"]) == 2
    captured = capsys.readouterr()
    err += captured.out + captured.err
    assert "token key 2 of 2" in err
    assert leaks(err, {"api_secret": secret, "password": DB_PASSWORD, "key": bad_key}) == []


@pytest.mark.parametrize(
    "password",
    [
        "p%zzSecretPw-41",  # libpq: invalid percent-encoded token: "p%zzSecretPw-41"
        "Secret Pw-42x",  # libpq: unexpected spaces found in "Secret Pw-42x"
    ],
)
def test_a_malformed_dsn_is_reported_without_its_password(
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    password: str,
) -> None:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", f"postgresql://alphap:{password}@127.0.0.1:1/db")
    monkeypatch.setenv("ALPHAP_LOG_FORMAT", "json")
    assert main(["migrate"]) != 0
    captured = capsys.readouterr()
    assert "ProgrammingError" in captured.err
    assert leaks(captured.out + captured.err, {"password": password}) == []


def test_library_warnings_are_redacted_and_rendered_like_alphap_events(
    log_stream: io.StringIO, capsys: pytest.CaptureFixture[str]
) -> None:
    password = "p%zzPoolSecret-43"  # noqa: S105 - libpq quotes it back in its parse error
    url = f"postgresql://alphap:{password}@127.0.0.1:1/db"
    DEFAULT_REDACTOR.register(Settings(database_url=url, _env_file=None).secret_values())  # type: ignore[call-arg]
    pool: ConnectionPool[psycopg.Connection[object]] = ConnectionPool(
        url, open=False, name="security-test", reconnect_timeout=0.2
    )
    with pytest.raises(PoolTimeout):
        pool.open(wait=True, timeout=0.5)
    pool.close(timeout=1)
    warnings = [e for e in json_lines(log_stream.getvalue()) if e.get("logger") == "psycopg.pool"]
    assert any("error connecting in 'security-test'" in e["event"] for e in warnings)
    assert all(e["level"] == "warning" for e in warnings)
    captured = capsys.readouterr()
    assert leaks(log_stream.getvalue() + captured.out + captured.err, {"pw": password}) == []


def test_a_kite_error_that_quotes_the_token_is_masked(
    fake_kite: FakeKite, log_stream: io.StringIO
) -> None:
    echo = f"Incorrect `api_key` or `access_token` {fake_kite.access_token}."
    fake_kite.respond("GET", "/user/profile", Reply.error(403, "TokenException", echo))
    access = KiteAccess(fake_kite.api_key, SecretStr(fake_kite.api_secret), fake_kite.url)
    gateway = access.gateway(fake_kite.access_token)
    with pytest.raises(LoginRequired) as refused:
        gateway.profile()
    gateway.close()
    assert "TokenException" in str(refused.value)
    client = kiteconnect.KiteConnect(fake_kite.api_key, root=fake_kite.url)
    client.set_access_token(fake_kite.access_token)
    with pytest.raises(kiteconnect.exceptions.TokenException) as raw:
        client.profile()
    assert fake_kite.access_token in str(raw.value)  # the raw exception does carry it
    log = structlog.get_logger("security-test")
    try:
        raise raw.value
    except kiteconnect.exceptions.TokenException as exc:
        log.exception("kite_call_failed", error=exc, detail=str(exc))
    text = log_stream.getvalue()
    assert "kite_token_rejected" in text and "TokenException" in text
    assert leaks(str(refused.value) + text, kite_secrets(fake_kite)) == []


def test_a_psycopg_error_logged_with_its_dsn_is_masked(log_stream: io.StringIO) -> None:
    url = f"postgresql://alphap:{DB_PASSWORD}@127.0.0.1:1/db"
    with pytest.raises(psycopg.OperationalError) as failed:
        psycopg.connect(url, connect_timeout=2)
    log = structlog.get_logger("security-test")
    try:
        _wrap(failed.value, url)
    except RuntimeError as exc:
        log.exception("db_connect_failed", dsn=url, error=exc)
    text = log_stream.getvalue()
    assert "postgresql://alphap:***@127.0.0.1:1/db" in text and "OperationalError" in text
    assert leaks(text, {"password": DB_PASSWORD}) == []
    # The shape alone is enough: a redactor that was told nothing masks it too.
    assert DB_PASSWORD not in Redactor().text(f"{failed.value} connecting to {url}")


def _wrap(error: Exception, url: str) -> None:
    raise RuntimeError(f"could not connect to {url}") from error
