"""Errors of the persistence layer."""

import psycopg


class PersistenceError(psycopg.Error):
    """Base of persistence errors; a psycopg.Error so existing handlers still catch it."""


class SchemaNotAtHeadError(PersistenceError):
    """The database schema is not at the Alembic head this program needs."""


class DatabaseUnavailableError(PersistenceError):
    """The database could not be reached when the pool was opened."""


class TokenCipherError(PersistenceError):
    """Base of token encryption errors; messages never hold key material or tokens."""


class TokenKeyMissingError(TokenCipherError):
    """A token must be encrypted or decrypted but no token key is configured."""


class InvalidTokenKeyError(TokenCipherError):
    """A configured token key is not a valid Fernet key."""


class TokenDecryptError(TokenCipherError):
    """A stored token cannot be decrypted with any configured key (or is not encrypted)."""


class LegacySchemaError(PersistenceError):
    """A legacy (pre-Alembic) table has a shape the adoption does not know."""
