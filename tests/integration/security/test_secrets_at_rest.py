"""No secret rests in plaintext in the database: its rows and a pg_dump of it.

After two logins (each an encrypted session upsert) and a key rotation, every
row of every table and the full pg_dump are searched for the Kite access,
public and request tokens, the API secret and both Fernet keys. The dump must
still hold the session, encrypted under the newest key only.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from alphap.cli import main
from alphap.embedded import EmbeddedPostgres
from persistence.cipher import TokenCipher, generate_key
from persistence.errors import TokenDecryptError
from tests.fixtures.fake_kite import FakeKite
from tests.integration.security.secrets_support import database_text, kite_secrets, leaks

FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_\-]+=*")


def pg_dump(database_url: str, tmp_path: Path) -> str:
    """The whole database as SQL, by the pg_dump shipped with the embedded server."""
    binary = EmbeddedPostgres(tmp_path / "unused").binary("pg_dump")
    result = subprocess.run(
        [str(binary), "--no-owner", "--dbname", database_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_sessions_rest_encrypted_in_rows_and_in_a_dump_after_login_and_rotation(
    kite_env: FakeKite,
    database_url: str,
    token_key: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    fake = kite_env
    second = fake.new_request_token()
    assert main(["login", "--request-token", fake.request_token]) == 0
    assert main(["login", "--request-token", second]) == 0
    new_key = generate_key()
    monkeypatch.setenv("ALPHAP_TOKEN_KEYS", f"{new_key},{token_key}")
    assert main(["keys", "rotate"]) == 0

    secrets = {**kite_secrets(fake, second), "old_key": token_key, "new_key": new_key}
    rows = database_text(database_url)
    dump = pg_dump(database_url, tmp_path)
    assert "AP1234" in rows and "trading_sessions" in dump and "AP1234" in dump
    assert leaks(rows, secrets) == []
    assert leaks(dump, secrets) == []

    stored = FERNET_TOKEN.findall(dump)
    newest, oldest = TokenCipher([new_key]), TokenCipher([token_key])
    assert fake.access_token in {newest.decrypt(token) for token in stored}
    for token in stored:
        with pytest.raises(TokenDecryptError):
            oldest.decrypt(token)
