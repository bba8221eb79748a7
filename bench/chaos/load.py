"""The campaign's producer: a steady, seeded mix appended straight to `<prefix>:ingress`.

Fills over many portfolios, trading events, ticks, producer repeats and a
trickle of malformed documents, at `rate` documents per second (times the
burst multiplier). Every appended document also feeds the reference model, in
append order, so the model sees exactly what the stream holds.

An append that fails (Redis stopped) is settled by the stream's length once
Redis is back: the transaction either added all of its entries or none, and
nothing else writes to the stream, so the length says which.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import redis

from actors.documents import parse_document
from actors.errors import InvalidDocumentError
from actors.stream import stream_key
from tests.fixtures.reference_model import ReferencePortfolio
from tests.fixtures.stream import INVALID_DOCUMENTS, fill, tick, trading_event

MALFORMED: tuple[str, ...] = (
    *INVALID_DOCUMENTS,
    '{"type": "order_filled", "event_id": "not-a-uuid"}',
    "{truncated",
    '{"type": "market_tick", "instrument_token": "x", "last_price": "1",'
    ' "timestamp": "2026-01-05T09:15:00+00:00"}',
    json.dumps({**fill("P0000", event_id=str(uuid.UUID(int=1))), "quantity": -5}),
    json.dumps({**fill("P0000", event_id=str(uuid.UUID(int=2))), "price": "1e999999"}),
    json.dumps({**fill("P0000", event_id=str(uuid.UUID(int=3))), "surprise": True}),
    json.dumps({**trading_event(event_id=str(uuid.UUID(int=4))), "broker_namespace": "nyse"}),
)
# The campaign's strategies: STRATEGY may trade live (zerodha); PAPER_ONLY may not,
# so its zerodha fills must be refused as dead letters and never journaled.
STRATEGY = "s1"
PAPER_ONLY = "paper-only"
# Sixty instruments, each portfolio trading three of them (as real books hold a few
# names of a larger universe): a tick reaches about 1/20 of the portfolios, not all.
INSTRUMENTS = tuple(256265 + 1000 * i for i in range(60))
HELD_PER_PORTFOLIO = 3
TICK_INTERVAL_SECONDS = 0.1


def _must_be_malformed() -> None:
    for text in MALFORMED:
        try:
            parse_document(text)
        except InvalidDocumentError:
            continue
        raise AssertionError(f"the campaign's malformed document parses: {text}")


@dataclass
class Expected:
    """What a correct daemon must end up with, from what was appended."""

    event_ids: set[str] = field(default_factory=set)
    portfolios: dict[tuple[str, str], ReferencePortfolio] = field(default_factory=dict)
    letters: list[tuple[str, str]] = field(default_factory=list)
    appended: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Load:
    """A producer thread; `multiplier` scales the rate (bursts), `hold` pauses it (Redis stops)."""

    def __init__(
        self,
        redis_url: str,
        prefix: str,
        *,
        seed: int,
        rate: float,
        portfolios: int,
        malformed_share: float = 0.005,
        refused_share: float = 0.003,
        repeat_share: float = 0.02,
    ) -> None:
        _must_be_malformed()
        self.client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=2)
        self.key = stream_key(prefix)
        self.rate = rate
        self.multiplier = 1.0
        self.portfolios = portfolios
        self.malformed_share = malformed_share
        self.refused_share = refused_share
        self.repeat_share = repeat_share
        self.expected = Expected()
        self.hold = threading.Lock()
        self.failed_appends = 0
        self._seed = seed
        self._random = random.Random(seed)
        self._books: dict[tuple[str, str], list[int]] = {}
        self._held: dict[tuple[str, str, int], int] = {}
        self._recent: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos-load", daemon=True)
        self._started = 0.0
        self._stopped = 0.0

    def start(self) -> None:
        self._started = time.monotonic()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(60)
        self._stopped = time.monotonic()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def seconds(self) -> float:
        return (self._stopped or time.monotonic()) - self._started

    def _run(self) -> None:
        owed = 0.0
        last = time.monotonic()
        pending: list[tuple[str, str, dict[str, Any] | None]] = []
        while not self._stop.wait(TICK_INTERVAL_SECONDS):
            now = time.monotonic()
            owed += (now - last) * self.rate * self.multiplier
            last = now
            while owed >= 1:
                pending.append(self._next())
                owed -= 1
            if pending and self._append(pending):
                pending = []
        while pending and not self._append(pending):
            time.sleep(TICK_INTERVAL_SECONDS)

    def _append(self, batch: list[tuple[str, str, dict[str, Any] | None]]) -> bool:
        """XADD the batch atomically; False (nothing appended) when Redis cannot be reached."""
        before: int | None = None
        with self.hold:
            try:
                before = int(self.client.xlen(self.key))
                pipe = self.client.pipeline(transaction=True)
                for _, text, _ in batch:
                    pipe.xadd(self.key, {"data": text})
                ids = [_text(i) for i in pipe.execute()]
            except (redis.ConnectionError, redis.TimeoutError):
                self.failed_appends += 1
                if before is None:
                    return False
                ids = self._settle(before, len(batch))
                if not ids:
                    return False
        for (kind, text, document), entry_id in zip(batch, ids, strict=True):
            self._record(kind, text, document, entry_id)
        return True

    def _settle(self, before: int, count: int) -> list[str]:
        """The ids a failed transaction appended (all or none), once Redis answers again."""
        while True:
            try:
                length = int(self.client.xlen(self.key))
                if length == before:
                    return []
                if length == before + count:
                    entries = list(self.client.xrevrange(self.key, count=count) or [])
                    return [_text(entry_id) for entry_id, _ in reversed(entries)]
                raise AssertionError(f"stream length {length} after {before} + {count}")
            except (redis.ConnectionError, redis.TimeoutError):
                time.sleep(TICK_INTERVAL_SECONDS)

    def _record(self, kind: str, text: str, document: dict[str, Any] | None, entry_id: str) -> None:
        expected = self.expected
        expected.appended += 1
        expected.by_kind[kind] = expected.by_kind.get(kind, 0) + 1
        if document is None or kind == "refused":
            expected.letters.append((entry_id, text))
            return
        event_id = document.get("event_id")
        if event_id is not None:
            if event_id in expected.event_ids:
                return
            expected.event_ids.add(event_id)
        # Ticks are left out: last prices are not durable, so they are not compared.
        if document["type"] == "order_filled":
            key = (document["broker_namespace"], document["portfolio_id"])
            expected.portfolios.setdefault(key, ReferencePortfolio()).fill(
                document["instrument_token"],
                document["side"],
                document["quantity"],
                document["price"],
                document["fees"],
            )

    def _next(self) -> tuple[str, str, dict[str, Any] | None]:
        rng = self._random
        roll = rng.random()
        if roll < self.malformed_share:
            return "malformed", rng.choice(MALFORMED), None
        roll -= self.malformed_share
        now = datetime.now(UTC)
        if roll < self.refused_share:
            refused = {**self._fill(now), "broker_namespace": "zerodha", "strategy_id": PAPER_ONLY}
            return "refused", json.dumps(refused), refused
        roll -= self.refused_share
        if roll < self.repeat_share and self._recent:
            text = rng.choice(self._recent)
            return "repeat", text, json.loads(text)
        roll -= self.repeat_share
        document: dict[str, Any]
        if roll < 0.12:
            price = Decimal(rng.randint(9000, 11000)) / 100
            document, kind = tick(rng.choice(INSTRUMENTS), str(price), now), "tick"
        elif roll < 0.22:
            event_type = rng.choice(("order_placed", "risk_check", "order_cancelled"))
            namespace = rng.choice(("paper", "zerodha"))
            document = trading_event(event_type, broker_namespace=namespace, at=now)
            kind = "trading_event"
        else:
            document, kind = self._fill(now), "fill"
        text = json.dumps(document)
        self._recent.append(text)
        if len(self._recent) > 1000:
            del self._recent[:500]
        return kind, text, document

    def _book(self, namespace: str, portfolio: str) -> list[int]:
        """The instruments a portfolio trades, fixed by the seed."""
        book = self._books.get((namespace, portfolio))
        if book is None:
            chooser = random.Random(f"{self._seed}/{namespace}/{portfolio}")
            book = self._books[(namespace, portfolio)] = chooser.sample(
                INSTRUMENTS, HELD_PER_PORTFOLIO
            )
        return book

    def _fill(self, now: datetime) -> dict[str, Any]:
        rng = self._random
        namespace = "zerodha" if rng.random() < 0.1 else "paper"
        portfolio = f"P{rng.randrange(self.portfolios):04d}"
        token = rng.choice(self._book(namespace, portfolio))
        position = self._held.get((namespace, portfolio, token), 0)
        side = "SELL" if position > 0 and rng.random() < 0.45 else "BUY"
        if rng.random() < 0.03:
            side = "SELL"
        quantity = rng.randint(1, 50)
        self._held[(namespace, portfolio, token)] = position + (
            quantity if side == "BUY" else -quantity
        )
        return fill(
            portfolio,
            side=side,
            quantity=quantity,
            price=str(Decimal(rng.randint(9000, 11000)) / 100),
            instrument_token=token,
            fees=str(Decimal(rng.randint(0, 100)) / 100),
            strategy_id=STRATEGY,
            broker_namespace=namespace,
            at=now,
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
