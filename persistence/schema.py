"""The schema's version under Alembic: upgrade, downgrade, and "is it at head?".

Nothing in the running program creates tables any other way.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import psycopg
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool

from persistence import legacy
from persistence.errors import SchemaNotAtHeadError


def migrations_dir() -> Path:
    """Where the migrations are, whether alphap runs from a clone or an install."""
    return Path(str(files("migrations")))


def alembic_config(conninfo: str) -> Config:
    """An Alembic configuration bound to `conninfo` (a libpq URL or keyword DSN)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.attributes["conninfo"] = conninfo
    return config


def _known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config(""))
    return {r.revision for r in script.walk_revisions()}


def head_revision() -> str:
    """The newest revision shipped with this version of alphap."""
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if head is None:
        raise SchemaNotAtHeadError("no migrations are shipped")
    return head


def current_revision(conninfo: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    engine = create_engine(
        "postgresql+psycopg://", creator=lambda: psycopg.connect(conninfo), poolclass=pool.NullPool
    )
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def pending_revisions(conninfo: str) -> list[str]:
    """The revisions `upgrade` would apply, oldest first (empty when at head)."""
    script = ScriptDirectory.from_config(alembic_config(""))
    current = current_revision(conninfo)
    return [r.revision for r in reversed(list(script.iterate_revisions("head", current)))]


def legacy_adoption_plan(conninfo: str) -> list[legacy.TableAdoption]:
    """What upgrading would adopt from a legacy (create_all) database; empty if nothing.

    Raises LegacySchemaError when a legacy table cannot be adopted without loss.
    """
    if current_revision(conninfo) is not None:
        return []
    with psycopg.connect(conninfo) as conn:
        conn.read_only = True
        return legacy.plan(conn)


def _has_legacy_tables(conninfo: str) -> bool:
    with psycopg.connect(conninfo) as conn:
        return bool(legacy.legacy_tables(conn))


def upgrade(conninfo: str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (head by default)."""
    command.upgrade(alembic_config(conninfo), revision)


def downgrade(conninfo: str, revision: str = "base") -> None:
    """Downgrade the database to `revision` (base by default)."""
    command.downgrade(alembic_config(conninfo), revision)


def ensure_at_head(conninfo: str) -> None:
    """Raise SchemaNotAtHeadError with a clear message unless the schema is at head."""
    current, head = current_revision(conninfo), head_revision()
    if current == head:
        return
    if current is None and _has_legacy_tables(conninfo):
        raise SchemaNotAtHeadError(
            f"legacy schema found: run alphap migrate to adopt it (this alphap needs {head})"
        )
    if current is None:
        raise SchemaNotAtHeadError(
            f"database is empty (no alphap schema): run alphap migrate to create schema {head}"
        )
    if current not in _known_revisions():
        raise SchemaNotAtHeadError(
            f"database schema is at revision {current}, which this alphap does not know "
            f"(made by a newer alphap?): this alphap needs {head}"
        )
    raise SchemaNotAtHeadError(
        f"database schema is at revision {current}, this alphap needs {head}: run alphap migrate"
    )
