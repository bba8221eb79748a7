"""Passwords are found in connection strings however they are written, even malformed."""

from __future__ import annotations

import pytest

from alphap.settings import Settings
from supervision.redaction import Redactor, connection_passwords


@pytest.mark.parametrize(
    ("conninfo", "expected"),
    [
        ("postgresql://u:plain-pw@h:5432/db", ["plain-pw"]),
        ("postgresql://u:p%40ss-word@h1:1,h2:2/db", ["p%40ss-word", "p@ss-word"]),
        ("postgresql://u:p%zzBad@h/db", ["p%zzBad"]),
        ("postgresql://u:has space@h/db", ["has space"]),
        ("postgresql://u@h/db?sslmode=require&password=q-pw-123", ["q-pw-123"]),
        ("host=h password='it\\'s secret' dbname=x", ["it's secret"]),
        ("host=h PASSWORD = kw-pw-99 dbname=x", ["kw-pw-99"]),
        ("redis://:redis-pw-1@127.0.0.1:6379/0", ["redis-pw-1"]),
        ("rediss://alice:tls-pw-2@cache:6380", ["tls-pw-2"]),
        ("postgresql://u@h/db", []),
        ("host=h dbname=x", []),
    ],
)
def test_passwords_in_urls_and_keyword_strings(conninfo: str, expected: list[str]) -> None:
    assert connection_passwords(conninfo) == expected


def test_the_settings_register_the_server_passwords() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url="postgresql://alphap:p%zzDb-pw-7@db/alphap",
        redis_url="redis://:Redis-pw-8@cache:6379/0",
    )
    redactor = Redactor(settings.secret_values())
    message = 'invalid percent-encoded token: "p%zzDb-pw-7"; AUTH Redis-pw-8 failed'
    assert redactor.text(message) == 'invalid percent-encoded token: "***"; AUTH *** failed'
