"""Errors of the persistence layer."""

import psycopg


class PersistenceError(psycopg.Error):
    """Base of persistence errors; a psycopg.Error so existing handlers still catch it."""


class SchemaNotAtHeadError(PersistenceError):
    """The database schema is not at the Alembic head this program needs."""
