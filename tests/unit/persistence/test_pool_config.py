"""Settings become a PoolConfig; the config hides its conninfo and passes TLS settings on."""

from __future__ import annotations

from pathlib import Path

from alphap.database import pool_config
from alphap.settings import Settings
from persistence.pool import PoolConfig, describe_target


def test_settings_map_onto_the_pool_config() -> None:
    settings = Settings(
        _env_file=None,
        db_pool_min_size=2,
        db_pool_max_size=7,
        db_pool_timeout=4.5,
        db_pool_max_lifetime=100,
        db_pool_max_idle=50,
        db_pool_reconnect_timeout=20,
        db_connect_timeout=3,
        db_sslmode="verify-full",
        db_sslrootcert=Path("/etc/alphap/root.crt"),
        db_application_name="alphap-x",
    )
    config = pool_config(settings, "host=db.example dbname=alphap")
    assert config == PoolConfig(
        conninfo="host=db.example dbname=alphap",
        min_size=2,
        max_size=7,
        timeout=4.5,
        max_lifetime=100,
        max_idle=50,
        reconnect_timeout=20,
        connect_timeout=3,
        application_name="alphap-x",
        sslmode="verify-full",
        sslrootcert="/etc/alphap/root.crt",
    )
    assert config.connection_kwargs() == {
        "application_name": "alphap-x",
        "connect_timeout": 3,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 30_000,
        "sslmode": "verify-full",
        "sslrootcert": "/etc/alphap/root.crt",
    }


def test_unset_tls_settings_leave_the_conninfo_in_charge() -> None:
    config = pool_config(Settings(_env_file=None), "postgresql://db/alphap?sslmode=require")
    assert "sslmode" not in config.connection_kwargs()
    assert "sslrootcert" not in config.connection_kwargs()


def test_the_password_is_never_shown() -> None:
    config = PoolConfig(conninfo="postgresql://alice:hunter22@db.example:6543/alphap")
    assert "hunter22" not in repr(config)
    assert config.target == "alice@db.example:6543/alphap"
    assert describe_target("host=h password=hunter22 dbname=d") == "@h:5432/d"
