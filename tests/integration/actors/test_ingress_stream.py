"""The Redis Streams ingress log across a lost connection, through a TCP proxy that cuts it."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis

from actors.stream import GROUP, RedisIngressLog, stream_key
from bench.chaos.proxy import Proxy
from tests.fixtures.stream import append


@pytest.fixture
def proxy(redis_server_url: str) -> Iterator[Proxy]:
    parts = urlsplit(redis_server_url)
    proxy = Proxy("redis", parts.port or 6379, parts.hostname or "127.0.0.1")
    proxy.start()
    yield proxy
    proxy.close()


def through(url: str, proxy: Proxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    address = f"127.0.0.1:{proxy.port}"
    return urlunsplit(
        parts._replace(netloc=f"{netloc[0]}@{address}" if len(netloc) > 1 else address)
    )


def test_entries_whose_read_reply_was_lost_come_next_and_in_stream_order(
    proxy: Proxy, redis_server_url: str, redis_client: redis.Redis, redis_prefix: str
) -> None:
    # The chaos campaign cut the link while a read was under way: Redis had handed
    # the entries to the consumer, the reply never arrived, and they waited for the
    # idle claim (a minute) and were then applied behind newer ones.
    log = RedisIngressLog(through(redis_server_url, proxy), redis_prefix, consumer="c")
    try:
        log.ensure_group()
        assert log.read(10, None) == []
        received = append(redis_client, redis_prefix, ["a", "b"])
        assert [entry.entry_id for entry in log.read(10, None)] == received
        lost = append(redis_client, redis_prefix, ["c", "d"])
        redis_client.xreadgroup(GROUP, "c", {stream_key(redis_prefix): ">"}, count=10)
        newer = append(redis_client, redis_prefix, ["e"])
        proxy.cut()
        with pytest.raises(redis.ConnectionError):
            log.read(10, None)
        proxy.heal()
        again = log.read(10, None)
        assert [entry.entry_id for entry in again] == lost
        assert all(entry.redelivered for entry in again)
        assert [entry.entry_id for entry in log.read(10, None)] == newer
    finally:
        log.close()
