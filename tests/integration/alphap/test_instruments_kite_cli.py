"""`alphap instruments load --kite`: today's dump from Kite with the stored session."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alphap.cli import main
from persistence.cipher import TokenCipher
from persistence.repositories.sessions import Session, SessionRepository
from persistence.uow import transaction
from tests.fixtures.fake_kite import DATA_DIR, FakeKite, Fault, Reply

SUMMARY = re.compile(
    r"^loaded (\d+) rows: (\d+) inserted, (\d+) updated, (\d+) unchanged, (\d+) deactivated"
    r" in \d+\.\d\d s$",
    re.MULTILINE,
)


def _store_session(database_url: str, cipher: TokenCipher, token: str, expires_in: float) -> None:
    session = Session(
        user_id="AP1234",
        session_id="s1",
        session_data={"access_token": token},
        expires_at=datetime.now(UTC) + timedelta(hours=expires_in),
    )
    with psycopg.connect(database_url) as conn, transaction(conn) as uow:
        SessionRepository(cipher).save(uow.conn, session)


def _summary(out: str) -> tuple[int, ...]:
    found = SUMMARY.search(out)
    assert found, out
    return tuple(int(n) for n in found.groups())


def test_load_from_kite_then_reload_a_shorter_dump(
    kite_env: FakeKite,
    database_url: str,
    cipher: TokenCipher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _store_session(database_url, cipher, kite_env.access_token, expires_in=12)
    assert main(["instruments", "load", "--kite"]) == 0
    assert _summary(capsys.readouterr().out) == (20, 20, 0, 0, 0)
    assert kite_env.authorizations("/instruments") == [kite_env.expected_authorization]

    lines = (DATA_DIR / "instruments.csv").read_bytes().splitlines(keepends=True)
    kite_env.respond("GET", "/instruments", Reply.csv(b"".join(lines[:-2])), authenticated=False)
    assert main(["instruments", "load", "--kite", "--skip-invalid"]) == 0
    assert _summary(capsys.readouterr().out) == (18, 0, 0, 18, 2)
    with psycopg.connect(database_url) as conn:
        counts = conn.execute("SELECT active, count(*) FROM instruments GROUP BY active").fetchall()
    assert dict(counts) == {True: 18, False: 2}


def test_without_a_valid_session_it_asks_for_a_login(
    kite_env: FakeKite,
    database_url: str,
    cipher: TokenCipher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["instruments", "load", "--kite"]) == 2
    assert "run `alphap login`" in capsys.readouterr().err
    _store_session(database_url, cipher, kite_env.access_token, expires_in=-1)
    assert main(["instruments", "load", "--kite"]) == 2
    assert "run `alphap login`" in capsys.readouterr().err
    assert kite_env.count("/instruments") == 0


def test_a_kite_failure_is_reported_and_changes_nothing(
    kite_env: FakeKite,
    database_url: str,
    cipher: TokenCipher,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _store_session(database_url, cipher, kite_env.access_token, expires_in=12)
    kite_env.fail_next(Fault.INPUT, path="/instruments")
    assert main(["instruments", "load", "--kite"]) == 2
    err = capsys.readouterr().err
    assert "downloading the instruments from Kite" in err
    assert kite_env.access_token not in err
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM instruments").fetchone() == (0,)


@pytest.mark.usefixtures("cli_env")
def test_kite_needs_the_app_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instruments", "load", "--kite"]) == 2
    err = capsys.readouterr().err
    assert "ALPHAP_KITE_API_KEY" in err and "ALPHAP_KITE_API_SECRET" in err


@pytest.mark.usefixtures("cli_env")
def test_file_and_kite_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["instruments", "load", "--kite", "--file", "x.csv"])
    assert exit_info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
