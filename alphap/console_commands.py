"""The trading commands of the console: session, ingress, dlq and snapshot.

Registered beside supervision's generic tree commands by alphap.console;
each handler answers plain JSON-able data and never a token.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import redis

from actors.messages import FlushSnapshots, PersistSnapshot, PortfolioKey
from actors.session import GetSessionStatus, SessionStatus
from actors.stream import GROUP, stream_key
from supervision import Supervisor
from supervision.console import Command, UsageError
from supervision.console.commands import expect_args, options
from supervision.deadletters import DeadLetterRegistry
from supervision.redaction import DEFAULT_REDACTOR

PORTFOLIOS = "portfolios"
SNAPSHOT_USAGE = "snapshot [NAMESPACE/PORTFOLIO_ID | --all]"


class RateMeter:
    """Entries per second of a growing counter between two looks (the first: since start)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: tuple[float, int] | None = None

    def rate(self, count: int, uptime_seconds: float) -> float | None:
        now = time.monotonic()
        with self._lock:
            last, self._last = self._last, (now, count)
        if last is None or count < last[1] or now <= last[0]:
            return round(count / uptime_seconds, 3) if uptime_seconds > 0 else None
        return round((count - last[1]) / (now - last[0]), 3)


class TradingCommands:
    """Commands over the daemon's root and its Redis; `close()` releases the Redis client."""

    def __init__(
        self,
        root: Supervisor,
        redis_client: redis.Redis,
        prefix: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        self.root = root
        self.redis = redis_client
        self.prefix = prefix
        self.timeout = timeout
        self.letters = DeadLetterRegistry(redis_client, prefix, redactor=DEFAULT_REDACTOR)
        self.meter = RateMeter()

    def commands(self) -> list[Command]:
        return [
            Command("session", self.session, "the Kite session: state, user, expiry (no token)"),
            Command(
                "ingress", self.ingress, "the ingress stream: lag, pending entries, rate, counters"
            ),
            Command("dlq", self.dlq, "dead letters: counts by actor and by error, oldest, newest"),
            Command(
                "snapshot",
                self.snapshot,
                "write one portfolio's snapshot now, or every changed one (--all, the default)",
                "[NAMESPACE/PORTFOLIO_ID | --all]",
                admin=True,
            ),
        ]

    def close(self) -> None:
        self.redis.close()

    def session(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 0, "session")
        status: SessionStatus = self.root.ref("session").ask(GetSessionStatus(), self.timeout)
        return status.model_dump(mode="json")

    def ingress(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 0, "ingress")
        actor = self.root.locate("ingress")
        if actor is None:
            raise UsageError("this daemon has no ingress actor")
        _, child = actor
        described: dict[str, Any] = {}
        future = child.describe()
        if future is not None:
            described = future.get(timeout=self.timeout) or {}
        info = child.info()
        key = stream_key(self.prefix)
        stream = self._stream(key)
        acked = int(described.get("acked", 0))
        return {
            "stream": key,
            "group": GROUP,
            "state": info.state,
            **stream,
            "acked": acked,
            "read": described.get("read"),
            "applied": described.get("applied"),
            "dead_lettered": described.get("dead_lettered"),
            "in_flight_entries": described.get("in_flight_entries"),
            "acked_per_second": self.meter.rate(acked, info.uptime_seconds),
            "redis_failures": described.get("redis_failures"),
            "last_error": described.get("last_error"),
        }

    def _stream(self, key: str) -> dict[str, Any]:
        try:
            length = int(self.redis.xlen(key))
            groups: Any = self.redis.xinfo_groups(key)
            summary: Any = self.redis.xpending(key, GROUP)
        except redis.ResponseError:
            return {"length": 0, "lag": None, "pending": None, "consumers": {}}
        group = next((g for g in groups if _text(g.get("name")) == GROUP), None)
        lag = None if group is None or group.get("lag") is None else int(group["lag"])
        consumers = {
            _text(c.get("name")): int(c.get("pending", 0)) for c in summary.get("consumers") or []
        }
        return {
            "length": length,
            "lag": lag,
            "pending": int(summary.get("pending", 0)),
            "oldest_pending": _text(summary.get("min")) if summary.get("min") else None,
            "consumers": consumers,
        }

    def dlq(self, args: Sequence[str]) -> dict[str, Any]:
        expect_args(args, 0, "dlq")
        return self.letters.stats().model_dump(mode="json")

    def snapshot(self, args: Sequence[str]) -> dict[str, Any]:
        usage = f"usage: {SNAPSHOT_USAGE}"
        words, given = options(args, (), usage, flags=("all",))
        if len(words) > 1 or (words and given):
            raise UsageError(usage)
        if not words:
            written = self.root.ref("snapshots").ask(FlushSnapshots(), self.timeout)
            return {"all": True, "written": written}
        name = words[0].removeprefix(f"{PORTFOLIOS}/")
        try:
            key = PortfolioKey.parse(name)
        except ValueError as exc:
            raise UsageError(f"{exc}; {usage}") from None
        if self.root.locate(f"{PORTFOLIOS}/{key}") is None:
            raise UsageError(f"no portfolio actor {key} in this daemon (`actors` lists live ones)")
        portfolios: Any = self.root.subtree(PORTFOLIOS)
        journal_id = portfolios.ask(key, PersistSnapshot(), self.timeout)
        return {"portfolio": str(key), "written": 1, "last_journal_id": journal_id}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
