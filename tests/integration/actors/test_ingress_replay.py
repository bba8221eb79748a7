"""IngressRequeuer: a dead letter's original document back on the ingress stream, once."""

from __future__ import annotations

import pytest
import redis

from actors.errors import ReplayRefusedError
from actors.ingress_batch import ingress_letter
from actors.ingress_replay import IngressRequeuer, marker_key
from actors.stream import RedisIngressLog, StreamEntry, stream_key
from supervision.deadletters import DeadLetter

DOCUMENT = '{"type":"market_tick","instrument_token":408065,"last_price":"1500.5"}'


def _letter(prefix: str, document: str | None = DOCUMENT) -> DeadLetter:
    entry = StreamEntry("1700000000000-0", None if document is None else document.encode())
    return ingress_letter(
        stream_key(prefix),
        entry,
        message_type="ingress_document",
        error_type="InvalidDocumentError",
        reason="test",
        version="test",
    )


def test_the_ingress_reads_the_replayed_document(
    redis_client: redis.Redis, redis_server_url: str, redis_prefix: str
) -> None:
    log = RedisIngressLog(redis_server_url, redis_prefix, consumer="test")
    log.ensure_group()
    requeuer = IngressRequeuer(redis_client, redis_prefix)
    letter = _letter(redis_prefix)
    requeuer.put(letter)
    try:
        [entry] = log.read(10, None)
    finally:
        log.close()
    assert entry.data == DOCUMENT.encode()
    assert requeuer.entries == {letter.id: entry.entry_id}
    assert requeuer.replayed_as(letter.id) == entry.entry_id


def test_putting_a_letter_again_adds_no_entry(redis_client: redis.Redis, redis_prefix: str) -> None:
    letter = _letter(redis_prefix)
    first = IngressRequeuer(redis_client, redis_prefix)
    first.put(letter)
    again = IngressRequeuer(redis_client, redis_prefix)
    again.put(letter)
    assert redis_client.xlen(stream_key(redis_prefix)) == 1
    assert again.entries == first.entries
    assert 0 < redis_client.ttl(marker_key(redis_prefix, letter.id)) <= 30 * 24 * 3600


def test_a_letter_without_an_original_is_refused(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    with pytest.raises(ReplayRefusedError, match="no original document"):
        IngressRequeuer(redis_client, redis_prefix).put(_letter(redis_prefix, None))
    assert not redis_client.exists(stream_key(redis_prefix))


def test_a_refused_xadd_leaves_no_marker(redis_client: redis.Redis, redis_prefix: str) -> None:
    redis_client.set(stream_key(redis_prefix), "not a stream")
    letter = _letter(redis_prefix)
    requeuer = IngressRequeuer(redis_client, redis_prefix)
    with pytest.raises(ReplayRefusedError, match="WRONGTYPE"):
        requeuer.put(letter)
    assert requeuer.replayed_as(letter.id) is None
    assert requeuer.entries == {}
