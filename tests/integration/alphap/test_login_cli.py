"""`alphap login`: redirect URL or request token, one encrypted row per user, clear refusals."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from alphap.cli import main
from alphap.commands.login import request_token_from_url
from alphap.errors import AlphapError
from persistence.cipher import TokenCipher
from persistence.repositories.sessions import SessionRepository
from persistence.uow import transaction
from tests.fixtures.fake_kite import FakeKite

ROOT = Path(__file__).resolve().parents[3]
EXPIRY_LINE = "logged in as AP1234; the session expires 2026-11-28 06:00 IST"


def _rows(database_url: str) -> list[tuple[str, bool, str]]:
    with psycopg.connect(database_url) as conn:
        return [
            (str(user), bool(active), str(text))
            for user, active, text in conn.execute(
                "SELECT user_id, is_active, row_to_json(s)::text FROM trading_sessions s"
            )
        ]


def _redirect(token: str, status: str = "success") -> str:
    return f"https://example.invalid/kite/cb?action=login&type=login&status={status}&request_token={token}"


def test_login_with_a_request_token_stores_one_encrypted_session(
    kite_env: FakeKite,
    database_url: str,
    cipher: TokenCipher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = kite_env
    assert main(["login", "--request-token", fake.request_token]) == 0
    captured = capsys.readouterr()
    assert f"https://kite.zerodha.com/connect/login?api_key={fake.api_key}&v=3" in captured.out
    assert EXPIRY_LINE in captured.out
    for secret in (fake.access_token, fake.request_token, fake.api_secret):
        assert secret not in captured.out + captured.err
    rows = _rows(database_url)
    assert [row[:2] for row in rows] == [("AP1234", True)]
    assert fake.access_token not in rows[0][2]
    with psycopg.connect(database_url) as conn, transaction(conn) as uow:
        stored = SessionRepository(cipher).latest(uow.conn)
    assert stored is not None
    assert stored.session_data["access_token"] == fake.access_token


def test_login_with_a_redirect_url_prints_json(
    kite_env: FakeKite, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = kite_env
    assert main(["login", "--redirect-url", _redirect(fake.request_token), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["user_id"] == "AP1234"
    assert document["expires_at"] == "2026-11-28T00:30:00+00:00"
    assert "access_token" not in document
    assert main(["login", "--redirect-url", _redirect(fake.new_request_token()), "--json"]) == 0
    capsys.readouterr()
    assert [row[:2] for row in _rows(database_url)] == [("AP1234", True)]


def test_a_used_request_token_is_refused_with_exit_status_2(
    kite_env: FakeKite, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = kite_env
    assert main(["login", "--request-token", fake.request_token]) == 0
    assert main(["login", "--request-token", fake.request_token]) == 2
    err = capsys.readouterr().err
    assert "Kite refused the login" in err
    assert fake.request_token not in err


def test_missing_settings_are_named(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["login", "--request-token", "abc"]) == 2
    err = capsys.readouterr().err
    assert "ALPHAP_KITE_API_KEY" in err and "ALPHAP_KITE_API_SECRET" in err
    monkeypatch.setenv("ALPHAP_KITE_API_KEY", "key")
    monkeypatch.setenv("ALPHAP_KITE_API_SECRET", "secret-value-1")
    assert main(["login", "--request-token", "abc"]) == 2
    assert "missing setting ALPHAP_TOKEN_KEYS" in capsys.readouterr().err


def test_login_refuses_a_schema_not_at_head_before_spending_the_token(
    kite_env: FakeKite,
    empty_database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", empty_database_url)
    assert main(["login", "--request-token", kite_env.request_token]) == 2
    assert "run alphap migrate" in capsys.readouterr().err
    assert kite_env.count("/session/token") == 0


def test_without_a_token_and_without_a_terminal_it_says_what_to_give(
    kite_env: FakeKite, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["login"]) == 2
    assert "--redirect-url or --request-token" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (_redirect("tok", status="cancelled"), "not 'success'"),
        ("https://example.invalid/kite/cb?status=success", "no request_token"),
    ],
)
def test_redirect_urls_that_are_no_successful_login(url: str, message: str) -> None:
    with pytest.raises(AlphapError, match=message):
        request_token_from_url(url)


def test_concurrent_logins_in_separate_processes_leave_one_row(
    kite_env: FakeKite, database_url: str
) -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith("ALPHAP_") or k in ("PATH", "HOME")}
    env["ALPHAP_LOG_LEVEL"] = "WARNING"
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "alphap",
                "login",
                "--request-token",
                kite_env.new_request_token(),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for token in [kite_env.new_request_token() for _ in range(6)]
    ]
    results = [(p.wait(timeout=120), *p.communicate(timeout=10)) for p in processes]
    assert [status for status, _, _ in results] == [0] * 6, results
    assert all(EXPIRY_LINE in out for _, out, _ in results)
    assert kite_env.count("/session/token", "POST") == 6
    assert [row[:2] for row in _rows(database_url)] == [("AP1234", True)]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_it_asks_for_the_redirect_url(
    kite_env: FakeKite,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", _Terminal(_redirect(kite_env.request_token) + "\n"))
    assert main(["login"]) == 0
    captured = capsys.readouterr()
    assert "paste the URL Kite redirected to" in captured.err
    assert EXPIRY_LINE in captured.out
    assert [row[:2] for row in _rows(database_url)] == [("AP1234", True)]
