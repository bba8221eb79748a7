"""Secrets never reach Redis in plaintext: the raw stored bytes are checked."""

from __future__ import annotations

import json
from typing import Any

import redis

from supervision.deadletters import DeadLetterRegistry
from supervision.redaction import Redactor
from tests.integration.supervision.letters import make_letter

ACCESS_TOKEN = "AtK9xq7Zr2LmP0vB"  # noqa: S105 - a fake secret to hide
DB_PASSWORD = "s3cr3t-pw-4242"  # noqa: S105 - a fake secret to hide
DSN = f"postgresql://alphap:{DB_PASSWORD}@db.internal:5432/alphap"


def raw_values(client: redis.Redis, prefix: str) -> bytes:
    """Every value stored under the prefix, concatenated."""
    chunks: list[Any] = []
    for key in client.scan_iter(match=f"{prefix}*"):
        kind = client.type(key)
        if kind == b"hash":
            for field, value in client.hgetall(key).items():
                chunks.extend((field, value))
        elif kind == b"zset":
            chunks.extend(client.zrange(key, 0, -1))
    return b"\n".join(chunks)


def test_payload_original_error_and_traceback_are_stored_masked(
    registry: DeadLetterRegistry, redis_client: redis.Redis, redis_prefix: str
) -> None:
    letter = make_letter(
        payload={"access_token": ACCESS_TOKEN, "nested": {"dsn": DSN}, "quantity": 5},
        original=json.dumps(
            {"type": "session", "access_token": ACCESS_TOKEN, "password": "pw123456"}
        ),
        error_message=f"could not connect to {DSN}",
        traceback=f'Traceback ...\n  headers={{"access_token": "{ACCESS_TOKEN}"}}\n',
    )
    registry.add(letter)
    raw = raw_values(redis_client, redis_prefix)
    assert letter.id.encode() in raw
    for secret in (ACCESS_TOKEN, DB_PASSWORD, "pw123456"):
        assert secret.encode() not in raw
    stored = registry.get(letter.id)
    assert stored is not None
    assert stored.payload == {
        "access_token": "***",
        "nested": {"dsn": DSN.replace(DB_PASSWORD, "***")},
        "quantity": 5,
    }
    assert stored.original is not None
    assert json.loads(stored.original) == {
        "type": "session",
        "access_token": "***",
        "password": "***",
    }
    assert "postgresql://alphap:***@db.internal" in stored.error_message


def test_an_injected_redactor_masks_registered_secrets(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    api_secret = "kite-api-secret-value"  # noqa: S105 - a fake secret
    registry = DeadLetterRegistry(redis_client, redis_prefix, redactor=Redactor([api_secret]))
    letter = make_letter(original=f"raw text mentioning {api_secret}", error_message=api_secret)
    registry.add(letter)
    raw = raw_values(redis_client, redis_prefix)
    assert api_secret.encode() not in raw
    stored = registry.get(letter.id)
    assert stored is not None
    assert stored.original == "raw text mentioning ***"


def test_an_original_without_secrets_is_kept_byte_for_byte(registry: DeadLetterRegistry) -> None:
    original = '{"type": "market_tick",  "instrument_token": 1, "last_price": "10.5"}'
    letter = make_letter(original=original)
    registry.add(letter)
    stored = registry.get(letter.id)
    assert stored is not None
    assert stored.original == original
