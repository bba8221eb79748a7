"""Messages between the trading actors: commands imperative, events past tense.

Replies that must wait for a group commit travel as a `concurrent.futures.Future`
inside the command: the sender waits on it (with a timeout) while the receiver
keeps taking messages, which is what lets the journal batch many requests into
one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from actors.documents import OrderFilled
from persistence.repositories.events import AppendResult, Event


@dataclass(frozen=True, order=True)
class PortfolioKey:
    """Identity of one portfolio actor; shown to operators as `namespace/portfolio_id`."""

    broker_namespace: str
    portfolio_id: str

    def __str__(self) -> str:
        return f"{self.broker_namespace}/{self.portfolio_id}"

    @classmethod
    def parse(cls, text: str) -> PortfolioKey:
        """Read `namespace/portfolio_id` (the portfolio id may itself contain '/')."""
        namespace, sep, portfolio_id = text.partition("/")
        if not sep or not namespace or not portfolio_id:
            raise ValueError(f"expected <broker_namespace>/<portfolio_id>, got {text!r}")
        return cls(namespace, portfolio_id)


class _Message(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)


class AppendToJournal(_Message):
    """Journal these events; `reply` resolves to one AppendResult per event, in order,
    once they are committed (or to an exception if they could not be).

    `commit_now` asks the journal not to wait for more requests to commit with: a
    sender that sends nothing more until this answer would only add the wait.
    """

    events: tuple[Event, ...]
    reply: Future[list[AppendResult]]
    commit_now: bool = False


class FlushJournal(_Message):
    """Commit whatever the journal has buffered now (its group-commit timer fired)."""


class ApplyFill(_Message):
    """Apply a fill that the journal has committed under `journal_id`."""

    fill: OrderFilled
    journal_id: int


class UpdateLastPrice(_Message):
    """A market tick for an instrument this portfolio holds (not journaled)."""

    instrument_token: int
    last_price: Decimal
    timestamp: datetime


class UpdateLastPrices(_Message):
    """The latest price of instruments this portfolio holds, conflated from ticks (not journaled).

    Only a tick's price reaches a portfolio's state, the last one winning, so the
    ingress folds the ticks a portfolio would get between two of its fills into one
    message: the same state, one mailbox put instead of one per tick.
    """

    prices: Mapping[int, Decimal]


class PersistSnapshot(_Message):
    """Write this portfolio's snapshot now (admin command, passivation, shutdown)."""


class FlushSnapshots(_Message):
    """Write the snapshots of every portfolio changed since the last flush."""


class ChangeSnapshotInterval(_Message):
    """Flush every `interval` seconds from now on (a reloaded ALPHAP_SNAPSHOT_INTERVAL_SECONDS)."""

    interval: float = Field(gt=0)
