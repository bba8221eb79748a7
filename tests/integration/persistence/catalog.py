"""What a database's schema is, as comparable data: columns, indexes, constraints."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

_CATALOG_QUERIES = {
    "schemas": """
        SELECT nspname FROM pg_namespace
        WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'
        ORDER BY 1""",
    "columns": """
        SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable,
               column_default, is_identity, identity_generation
        FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 3""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' ORDER BY 1, 2""",
    "constraints": """
        SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2""",
    "sequences": """
        SELECT sequence_name, data_type, start_value, increment FROM information_schema.sequences
        WHERE sequence_schema = 'public' ORDER BY 1""",
    "types": """
        SELECT typname, typtype FROM pg_type
        WHERE typnamespace = 'public'::regnamespace ORDER BY 1""",
}


def catalog(conninfo: str) -> dict[str, list[tuple[Any, ...]]]:
    """The schema of the database at `conninfo`, every part in a stable order."""
    with psycopg.connect(conninfo) as conn:
        return {name: conn.execute(query).fetchall() for name, query in _CATALOG_QUERIES.items()}


def contents(conninfo: str) -> dict[str, list[Any]]:
    """Every row of every table in the public schema, as JSON, in a stable order."""
    with psycopg.connect(conninfo) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' ORDER BY 1"
            )
        ]
        return {
            table: [
                row[0]
                for row in conn.execute(
                    sql.SQL("SELECT to_jsonb(t) FROM {} t ORDER BY to_jsonb(t)::text").format(
                        sql.Identifier(table)
                    )
                )
            ]
            for table in tables
        }
