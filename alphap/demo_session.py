"""The simulated trading session `alphap demo` feeds: ticks, fills and trading events.

A seeded random walk moves each instrument's price; each portfolio trades its
instruments around a flat position. At fixed fractions of the planned session
it emits documents the ingress must refuse: text that is not JSON, a negative
quantity, an unknown document type, a tick at price 0, and a fill for a paused
strategy. Every document is the JSON text a producer would XADD.
"""

from __future__ import annotations

import enum
import json
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from alphap.demo import PAPER, PAUSED_STRATEGY, DemoPortfolio, Instrument

BAD_AT = (0.12, 0.3, 0.5, 0.7, 0.88)
"""Where in the planned session the refused documents go, as fractions."""
TICK_SHARE = 0.5
EVENT_SHARE = 0.1
VOLATILITY = 0.0015
FEE_RATE = Decimal("0.0003")
MAX_UNITS = 6
EVENT_TYPES = ("order_placed", "order_modified", "order_cancelled")


class Kind(enum.StrEnum):
    """What a fed document is; only fills and trading events are journaled."""

    FILL = "fill"
    EVENT = "trading event"
    TICK = "tick"
    MALFORMED = "malformed"
    REFUSED = "refused"


@dataclass(frozen=True)
class Document:
    """One document as appended; `event_id` for those the journal must keep."""

    kind: Kind
    text: str
    event_id: str | None = None
    portfolio: str | None = None


@dataclass
class Tally:
    """What has been fed so far, by kind, and the event ids the journal must hold."""

    kinds: Counter[Kind] = field(default_factory=Counter)
    event_ids: list[str] = field(default_factory=list)

    def add(self, document: Document) -> None:
        self.kinds[document.kind] += 1
        if document.event_id is not None:
            self.event_ids.append(document.event_id)

    @property
    def fed(self) -> int:
        return sum(self.kinds.values())

    @property
    def to_journal(self) -> int:
        return self.kinds[Kind.FILL] + self.kinds[Kind.EVENT]

    @property
    def refused(self) -> int:
        return self.kinds[Kind.MALFORMED] + self.kinds[Kind.REFUSED]


def _quantize(price: Decimal, tick: Decimal) -> Decimal:
    ticks = (price / tick).to_integral_value(ROUND_HALF_UP)
    return max(ticks, Decimal(1)) * tick


class SessionScript:
    """The documents of one session, one at a time; `planned` places the refused ones."""

    def __init__(
        self,
        books: list[DemoPortfolio],
        planned: int,
        seed: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.books = books
        self.rng = random.Random(seed)  # noqa: S311 - a simulated market, not secrets
        self.clock = clock
        self.prices = {i.token: i.price for book in books for i in book.instruments}
        self.instruments = {i.token: i for book in books for i in book.instruments}
        self.positions: Counter[tuple[str, int]] = Counter()
        self.bad_at = {int(planned * share): n for n, share in enumerate(BAD_AT)}
        self.sequence = 0

    def next(self) -> Document:
        index = self.sequence
        self.sequence += 1
        if index in self.bad_at:
            return self._bad(self.bad_at[index])
        roll = self.rng.random()
        if roll < TICK_SHARE:
            return self._tick()
        if roll < 1 - EVENT_SHARE:
            return self._fill(self.rng.choice(self.books))
        return self._event(self.rng.choice(self.books))

    def _event_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _now(self) -> str:
        return self.clock().isoformat()

    def _tick(self) -> Document:
        token = self.rng.choice(sorted(self.prices))
        instrument = self.instruments[token]
        moved = self.prices[token] * Decimal(1 + self.rng.gauss(0, VOLATILITY))
        self.prices[token] = _quantize(moved, instrument.tick)
        return Document(Kind.TICK, json.dumps(self._tick_body(token, str(self.prices[token]))))

    def _tick_body(self, token: int, price: str) -> dict[str, Any]:
        return {
            "type": "market_tick",
            "instrument_token": token,
            "last_price": price,
            "timestamp": self._now(),
        }

    def _fill_body(self, book_id: str, instrument: Instrument, quantity: int) -> dict[str, Any]:
        """A fill of `quantity` (negative: a sale) at about the market price."""
        slip = instrument.tick * self.rng.randint(-2, 2)
        price = _quantize(self.prices[instrument.token] + slip, instrument.tick)
        event_id = self._event_id()
        return {
            "type": "order_filled",
            "event_id": event_id,
            "broker_namespace": PAPER,
            "portfolio_id": book_id,
            "strategy_id": book_id,
            "instrument_token": instrument.token,
            "side": "BUY" if quantity > 0 else "SELL",
            "quantity": abs(quantity),
            "price": str(price),
            "fees": str((price * abs(quantity) * FEE_RATE).quantize(Decimal("0.01"))),
            "filled_at": self._now(),
            "order_id": f"demo-{event_id[:8]}",
        }

    def _fill(self, book: DemoPortfolio) -> Document:
        instrument = self.rng.choice(book.instruments)
        unit = instrument.lot if instrument.lot > 1 else 10
        held = self.positions[(book.portfolio_id, instrument.token)]
        units = self.rng.randint(1, 3)
        if held >= MAX_UNITS * unit or (held > -MAX_UNITS * unit and self.rng.random() < 0.5):
            units = -units
        quantity = units * unit
        self.positions[(book.portfolio_id, instrument.token)] += quantity
        body = self._fill_body(book.portfolio_id, instrument, quantity)
        return Document(Kind.FILL, json.dumps(body), body["event_id"], str(book.key))

    def _event(self, book: DemoPortfolio) -> Document:
        instrument = self.rng.choice(book.instruments)
        event_id = self._event_id()
        body = {
            "type": "trading_event",
            "event_id": event_id,
            "event_type": self.rng.choice(EVENT_TYPES),
            "broker_namespace": PAPER,
            "strategy_id": book.portfolio_id,
            "instrument_token": instrument.token,
            "event_timestamp": self._now(),
            "event_data": {"order_id": f"demo-{event_id[:8]}", "quantity": instrument.lot},
        }
        return Document(Kind.EVENT, json.dumps(body), event_id)

    def _bad(self, number: int) -> Document:
        book = self.books[number % len(self.books)]
        instrument = book.instruments[0]
        if number == 0:
            cut = json.dumps(self._fill_body(book.portfolio_id, instrument, 5))
            return Document(Kind.MALFORMED, cut[: len(cut) // 2])
        if number == 1:
            body = self._fill_body(book.portfolio_id, instrument, 5)
            body["quantity"] = -5
            return Document(Kind.MALFORMED, json.dumps(body))
        if number == 2:
            body = self._fill_body(book.portfolio_id, instrument, 5)
            body["type"] = "order_teleported"
            return Document(Kind.MALFORMED, json.dumps(body))
        if number == 3:
            return Document(Kind.MALFORMED, json.dumps(self._tick_body(instrument.token, "0")))
        body = self._fill_body(PAUSED_STRATEGY, instrument, 5)
        body["strategy_id"] = PAUSED_STRATEGY
        return Document(Kind.REFUSED, json.dumps(body))
