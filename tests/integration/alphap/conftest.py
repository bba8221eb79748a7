"""Running `alphap` in-process against the test database and the fake Kite server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from persistence.cipher import TokenCipher, generate_key
from tests.fixtures.fake_kite import FakeKite


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[None]:
    """The database and an absent env file; no Kite or token settings."""
    monkeypatch.setenv("ALPHAP_DATABASE_URL", database_url)
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("ALPHAP_STATE_DIR", str(tmp_path / "state"))
    for name in ("CREDENTIALS_DIRECTORY", "ALPHAP_KITE_API_KEY", "ALPHAP_KITE_API_SECRET",
                 "ALPHAP_KITE_ACCESS_TOKEN", "ALPHAP_KITE_ROOT", "ALPHAP_TOKEN_KEYS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    yield
    # main() configures structlog to write to this test's captured stderr.
    structlog.reset_defaults()


@pytest.fixture
def token_key() -> str:
    return generate_key()


@pytest.fixture
def cipher(token_key: str) -> TokenCipher:
    return TokenCipher([token_key])


@pytest.fixture
def kite_env(
    cli_env: None, monkeypatch: pytest.MonkeyPatch, fake_kite: FakeKite, token_key: str
) -> FakeKite:
    """cli_env plus the fake's Kite app credentials and a token key."""
    monkeypatch.setenv("ALPHAP_KITE_API_KEY", fake_kite.api_key)
    monkeypatch.setenv("ALPHAP_KITE_API_SECRET", fake_kite.api_secret)
    monkeypatch.setenv("ALPHAP_KITE_ROOT", fake_kite.url)
    monkeypatch.setenv("ALPHAP_TOKEN_KEYS", token_key)
    return fake_kite
