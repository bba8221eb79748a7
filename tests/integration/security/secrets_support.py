"""What the security tests hunt for, and where they look."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import psycopg
import redis

from tests.fixtures.fake_kite import FakeKite


def kite_secrets(fake: FakeKite, *request_tokens: str) -> dict[str, str]:
    """Every Kite secret of the fake by name: tokens, the API secret."""
    found = {
        "access_token": fake.access_token,
        "public_token": str(fake.data.session["public_token"]),
        "api_secret": fake.api_secret,
        "request_token": fake.request_token,
    }
    found.update({f"request_token_{i}": token for i, token in enumerate(request_tokens)})
    return found


def leaks(text: str | bytes, secrets: dict[str, str]) -> list[str]:
    """Names of the secrets that occur in `text` (an empty list is the goal)."""
    haystack = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return sorted(name for name, value in secrets.items() if value and value in haystack)


def database_text(database_url: str) -> str:
    """Every row of every table in the database, as JSON text."""
    with psycopg.connect(database_url) as conn:
        tables = [
            (str(schema), str(name))
            for schema, name in conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables"
                " WHERE table_type = 'BASE TABLE'"
                " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
            )
        ]
        chunks = []
        for schema, name in tables:
            query = psycopg.sql.SQL("SELECT row_to_json(t)::text FROM {}.{} t").format(
                psycopg.sql.Identifier(schema), psycopg.sql.Identifier(name)
            )
            chunks.extend(str(row[0]) for row in conn.execute(query))
    return "\n".join(chunks)


def redis_text(client: redis.Redis, prefix: str, exclude: Iterable[str] = ()) -> bytes:
    """Every value stored under `prefix` but the `exclude` keys, whatever its type."""
    skipped = {key.encode() for key in exclude}
    chunks: list[bytes] = []
    for key in client.scan_iter(match=f"{prefix}*", count=1000):
        if key in skipped:
            continue
        chunks.append(key)
        kind = client.type(key)
        if kind == b"string":
            chunks.append(client.get(key) or b"")
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                chunks.extend((field, value))
        elif kind == b"list":
            chunks.extend(client.lrange(key, 0, -1))
        elif kind == b"set":
            chunks.extend(client.smembers(key))
        elif kind == b"zset":
            chunks.extend(client.zrange(key, 0, -1))
        elif kind == b"stream":
            for entry_id, fields in client.xrange(key):
                chunks.append(entry_id)
                for field, value in fields.items():
                    chunks.extend((field, value))
    return b"\n".join(chunks)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines in `text` (other lines are skipped)."""
    events = []
    for line in text.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    return events
