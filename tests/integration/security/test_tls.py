"""ALPHAP_DB_SSLMODE=verify-full against a PostgreSQL served over TLS with a test CA.

The certificates are made here. The embedded wheel's PostgreSQL is built
without TLS ("SSL is not supported by this build"), so a TLS front
(tls_proxy.py) speaks PostgreSQL's SSL negotiation for it; libpq's
verification, configured through alphap's settings, is what is under test.
alphap must connect encrypted when it trusts the CA, and refuse the server when
it trusts another CA, when the certificate names another host, or when the
server offers no TLS at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from alphap.database import database_pool
from alphap.settings import Settings, load_settings
from persistence.errors import DatabaseUnavailableError
from tests.integration.security.tls_certs import Authority
from tests.integration.security.tls_proxy import TlsProxy

REFUSAL_TIMEOUT = "1"


def _through(url: str, host: str, port: int) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info.update(host=host, port=str(port))
    return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]


def _settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, ca: Path) -> Settings:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("ALPHAP_DATABASE_URL", url)
    monkeypatch.setenv("ALPHAP_DB_SSLMODE", "verify-full")
    monkeypatch.setenv("ALPHAP_DB_SSLROOTCERT", str(ca))
    monkeypatch.setenv("ALPHAP_DB_POOL_TIMEOUT", REFUSAL_TIMEOUT)
    monkeypatch.setenv("ALPHAP_DB_CONNECT_TIMEOUT", REFUSAL_TIMEOUT)
    return load_settings()


def _url(settings: Settings) -> str:
    assert settings.database_url is not None
    return settings.database_url.get_secret_value()


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    authority = Authority.create("alphap test CA")
    authority.write(tmp_path / "ca.pem")
    Authority.create("some other CA").write(tmp_path / "wrong-ca.pem")
    return authority


@pytest.fixture
def tls_front(database_url: str, authority: Authority, tmp_path: Path) -> Iterator[TlsProxy]:
    """TLS in front of the test database, its certificate for localhost and 127.0.0.1."""
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    authority.issue_server(cert, key)
    backend = int(psycopg.conninfo.conninfo_to_dict(database_url)["port"])  # type: ignore[arg-type]
    with TlsProxy(backend, cert, key) as proxy:
        yield proxy


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_verify_full_connects_encrypted_when_the_ca_is_trusted(
    tls_front: TlsProxy,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    host: str,
) -> None:
    url = _through(database_url, host, tls_front.port)
    settings = _settings(monkeypatch, tmp_path, url, tmp_path / "ca.pem")
    with database_pool(settings, _url(settings)) as pool, pool.connection() as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (
            psycopg.conninfo.conninfo_to_dict(database_url)["dbname"],
        )
        assert conn.info.pgconn.ssl_in_use
    assert tls_front.handshakes_failed == 0


def test_verify_full_refuses_a_server_signed_by_another_ca(
    tls_front: TlsProxy, database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = _through(database_url, "127.0.0.1", tls_front.port)
    settings = _settings(monkeypatch, tmp_path, url, tmp_path / "wrong-ca.pem")
    with (
        pytest.raises(DatabaseUnavailableError, match="certificate verify failed"),
        database_pool(settings, _url(settings)),
    ):
        pass
    assert tls_front.handshakes_failed > 0


def test_verify_full_refuses_a_certificate_for_another_host(
    database_url: str, authority: Authority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cert, key = tmp_path / "other.crt", tmp_path / "other.key"
    authority.issue_server(cert, key, names=("db.example.invalid",))
    backend = int(psycopg.conninfo.conninfo_to_dict(database_url)["port"])  # type: ignore[arg-type]
    with TlsProxy(backend, cert, key) as proxy:
        url = _through(database_url, "127.0.0.1", proxy.port)
        settings = _settings(monkeypatch, tmp_path, url, tmp_path / "ca.pem")
        with (
            pytest.raises(DatabaseUnavailableError, match="does not match host name"),
            database_pool(settings, _url(settings)),
        ):
            pass


def test_verify_full_refuses_a_server_without_tls(
    database_url: str, authority: Authority, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = _settings(monkeypatch, tmp_path, database_url, tmp_path / "ca.pem")
    with (
        pytest.raises(DatabaseUnavailableError, match="does not support SSL"),
        database_pool(settings, _url(settings)),
    ):
        pass
