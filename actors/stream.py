"""The ingress log behind a small interface, and its Redis Streams implementation.

The ingress only reads batches, claims abandoned entries and acknowledges, so
a partitioned log (Kafka, Redpanda) can sit beside Redis Streams later
(ARCHITECTURE.md "Scale beyond one machine").
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis
import structlog

log = structlog.get_logger(__name__)

GROUP = "alphap"
DATA_FIELD = b"data"
# Seconds added to a blocking read's own wait before the socket gives up on it.
READ_SOCKET_MARGIN_SECONDS = 5.0


def stream_key(prefix: str) -> str:
    """The ingress stream of a Redis prefix: `<prefix>:ingress`."""
    return f"{prefix}:ingress"


def default_consumer() -> str:
    """This process's consumer name in the group: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True, slots=True)
class StreamEntry:
    """One entry: its id, the raw `data` field (None when absent) and whether it came before."""

    entry_id: str
    data: bytes | None
    redelivered: bool = False


class IngressLog(Protocol):
    """What the ingress needs of a log with consumer groups."""

    def ensure_group(self) -> None:
        """Create the consumer group (and the log) if they do not exist."""

    def read(self, count: int, block_ms: int | None) -> list[StreamEntry]:
        """The next entries for this consumer: first its own unacknowledged ones, then new ones."""

    def claim_idle(self, min_idle_ms: int, count: int) -> list[StreamEntry]:
        """Take over entries other consumers left unacknowledged for `min_idle_ms`."""

    def ack(self, entry_ids: Sequence[str]) -> None:
        """Acknowledge entries (idempotent)."""

    def lag(self) -> dict[str, int | None]:
        """Entries not yet delivered to the group (`lag`) and delivered but unacknowledged."""

    def close(self) -> None:
        """Release connections."""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisIngressLog:
    """`<prefix>:ingress` read through the consumer group `alphap` with XREADGROUP."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        consumer: str | None = None,
        group: str = GROUP,
        block_ms: int = 200,
    ) -> None:
        self.key = stream_key(prefix)
        self.group = group
        self.consumer = consumer or default_consumer()
        timeout = block_ms / 1000 + READ_SOCKET_MARGIN_SECONDS
        self.client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=READ_SOCKET_MARGIN_SECONDS
        )
        # Own pending entries are read first (from id 0), then new ones ('>').
        self._pending_cursor: str | None = "0"
        self._last_read = "0"
        self._claim_cursor = "0-0"

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, count: int, block_ms: int | None) -> list[StreamEntry]:
        cursor = self._pending_cursor
        if cursor is not None:
            entries = self._read_from(cursor, count, None, redelivered=True)
            if entries:
                self._pending_cursor = self._last_read = entries[-1].entry_id
                return entries
            self._pending_cursor = None
            log.info("ingress_pending_replayed", stream=self.key, consumer=self.consumer)
        try:
            entries = self._read_from(">", count, block_ms, redelivered=False)
        except (redis.ConnectionError, redis.TimeoutError):
            # Redis may have given us entries whose reply was lost with the connection:
            # read our own pending entries after the last one received first, so they
            # come now and in stream order, not a claim interval later behind newer ones.
            self._pending_cursor = self._last_read
            raise
        if entries:
            self._last_read = entries[-1].entry_id
        return entries

    def _read_from(
        self, cursor: str, count: int, block_ms: int | None, *, redelivered: bool
    ) -> list[StreamEntry]:
        reply: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.key: cursor}, count=count, block=block_ms
        )
        if not reply:
            return []
        # RESP3 answers a map of stream -> [entries], RESP2 a list of [stream, entries].
        rows = next(iter(reply.values()))[0] if isinstance(reply, dict) else reply[0][1]
        return [_entry(entry_id, fields, redelivered) for entry_id, fields in rows]

    def claim_idle(self, min_idle_ms: int, count: int) -> list[StreamEntry]:
        reply: Any = self.client.xautoclaim(
            self.key,
            self.group,
            self.consumer,
            min_idle_time=min_idle_ms,
            start_id=self._claim_cursor,
            count=count,
        )
        next_cursor, rows = reply[0], reply[1]
        self._claim_cursor = _text(next_cursor)
        return [_entry(entry_id, fields, True) for entry_id, fields in rows if fields]

    def ack(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            self.client.xack(self.key, self.group, *entry_ids)

    def lag(self) -> dict[str, int | None]:
        for group in self.client.xinfo_groups(self.key):
            name = _text(group.get("name", b""))
            if name == self.group:
                lag = group.get("lag")
                return {"lag": None if lag is None else int(lag), "pending": int(group["pending"])}
        return {"lag": None, "pending": None}

    def close(self) -> None:
        self.client.close()


def _entry(entry_id: Any, fields: Any, redelivered: bool) -> StreamEntry:
    # A pending entry deleted from the stream comes back without fields.
    data = fields.get(DATA_FIELD) if fields else None
    return StreamEntry(_text(entry_id), data, redelivered)
