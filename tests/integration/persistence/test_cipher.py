"""Tokens at rest: never plaintext in any row or dump; rotation moves them to the newest key."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import structlog
from psycopg.types.json import Jsonb

from alphap.cli import main
from alphap.embedded import EmbeddedPostgres
from persistence.cipher import TokenCipher, generate_key, looks_encrypted
from persistence.errors import TokenDecryptError
from persistence.repositories.sessions import Session, SessionRepository
from persistence.uow import transaction

DISTINCTIVE = "zq7-DISTINCTIVE-access-token-5b2e"
EXPIRES = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def _session(user_id: str, token: str) -> Session:
    return Session(
        user_id=user_id,
        session_id=f"sess-{user_id}",
        session_data={
            "access_token": token,
            "enctoken": f"{token}-enc",
            "request_token": f"{token}-req",
            "user_name": "Alice",
        },
        expires_at=EXPIRES,
    )


def _save(database_url: str, cipher: TokenCipher, session: Session) -> None:
    with psycopg.connect(database_url) as conn, transaction(conn) as uow:
        SessionRepository(cipher).save(uow.conn, session)


def _load(database_url: str, cipher: TokenCipher, user_id: str) -> Session | None:
    with psycopg.connect(database_url) as conn, transaction(conn) as uow:
        return SessionRepository(cipher).latest(uow.conn, user_id)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[None]:
    """Environment for running `alphap` in-process against the test database."""
    monkeypatch.setenv("ALPHAP_DATABASE_URL", database_url)
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("ALPHAP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    yield
    # main() configures structlog to write to this test's captured stderr.
    structlog.reset_defaults()


def test_no_plaintext_token_lands_in_any_row_or_in_a_dump(
    database_url: str, tmp_path: Path
) -> None:
    cipher = TokenCipher([generate_key()])
    _save(database_url, cipher, _session("AB1234", DISTINCTIVE))
    _save(database_url, cipher, _session("AB1234", DISTINCTIVE))
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT row_to_json(s)::text FROM trading_sessions s").fetchall()
    assert len(rows) == 1
    assert DISTINCTIVE not in rows[0][0]
    assert "Alice" in rows[0][0]

    pg_dump = EmbeddedPostgres(tmp_path / "unused").binary("pg_dump")
    dump = subprocess.run(
        [str(pg_dump), "--data-only", "--dbname", database_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "trading_sessions" in dump
    assert "Alice" in dump
    assert DISTINCTIVE not in dump
    loaded = _load(database_url, cipher, "AB1234")
    assert loaded is not None
    assert loaded.session_data["access_token"] == DISTINCTIVE


def test_keys_rotate_moves_every_token_to_the_newest_key_and_encrypts_plaintext(
    database_url: str,
    cli_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = generate_key(), generate_key()
    for user in ("U1", "U2"):
        _save(database_url, TokenCipher([old]), _session(user, f"tok-{user}-9f8e7d"))
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO trading_sessions (user_id, session_id, expires_at, session_data)"
            " VALUES ('LEGACY', 'sess-legacy', %s, %s)",
            (EXPIRES, Jsonb({"access_token": "legacy-plain-tok-31", "user_name": "Bob"})),
        )

    monkeypatch.setenv("ALPHAP_TOKEN_KEYS", f"{new},{old}")
    assert main(["keys", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "rotated 6 token(s) and encrypted 1 plaintext token(s) in 3 session(s)" in out

    only_new = TokenCipher([new])
    for user in ("U1", "U2"):
        loaded = _load(database_url, only_new, user)
        assert loaded is not None
        assert loaded.session_data["access_token"] == f"tok-{user}-9f8e7d"
        assert loaded.session_data["enctoken"] == f"tok-{user}-9f8e7d-enc"
    legacy = _load(database_url, only_new, "LEGACY")
    assert legacy is not None
    assert legacy.session_data == {"access_token": "legacy-plain-tok-31", "user_name": "Bob"}
    with psycopg.connect(database_url) as conn:
        dumped = conn.execute("SELECT json_agg(s)::text FROM trading_sessions s").fetchone()
    assert dumped is not None
    assert "legacy-plain-tok-31" not in dumped[0]
    with pytest.raises(TokenDecryptError):
        _load(database_url, TokenCipher([old]), "U1")


def test_a_legacy_plaintext_token_is_refused_on_read(database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO trading_sessions (user_id, session_id, expires_at, session_data)"
            " VALUES ('LEGACY', 's', %s, %s)",
            (EXPIRES, Jsonb({"access_token": "legacy-plain-tok-31"})),
        )
    with pytest.raises(TokenDecryptError, match="alphap keys rotate") as caught:
        _load(database_url, TokenCipher([generate_key()]), "LEGACY")
    assert "legacy-plain-tok-31" not in str(caught.value)


def test_keys_rotate_without_a_key_fails_clearly(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ALPHAP_TOKEN_KEYS", raising=False)
    assert main(["keys", "rotate"]) == 2
    assert "no token key configured" in capsys.readouterr().err


def test_keys_generate_prints_a_fresh_usable_key(
    cli_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["keys", "generate"]) == 0
    assert main(["keys", "generate"]) == 0
    first, second = capsys.readouterr().out.split()
    assert first != second
    cipher = TokenCipher([first])
    token = cipher.encrypt("x")
    assert looks_encrypted(token)
    assert cipher.decrypt(token) == "x"
