"""Completing a batch whose journal request answered: apply, dead-letter, acknowledge.

Called for batches strictly in read order. Fills reach their portfolio in
stream order, which is journal order (the journal commits requests in the
order it receives them and numbers a request's events in its order); ticks go
to the portfolios holding their instrument at that point of the stream, folded
per portfolio into one UpdateLastPrices sent just before that portfolio's next
fill or at the end of the batch, which leaves each portfolio's state exactly as
one message per tick would (the last price wins) at a fraction of the tells. Dead
letters are stored durably before the entries are acknowledged, and an
acknowledgement Redis refuses is kept and retried (acknowledging is idempotent).
"""

from __future__ import annotations

from collections.abc import Hashable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import pykka
import redis
import structlog

from actors.documents import MarketTick, OrderFilled
from actors.ingress_batch import Batch, ingress_letter
from actors.messages import ApplyFill, PortfolioKey, UpdateLastPrices
from actors.stream import IngressLog
from persistence.repositories.events import AppendResult
from supervision.deadletters import DeadLetter
from supervision.deadletters.messages import DeliverLetter
from supervision.errors import MailboxFull

if TYPE_CHECKING:
    from actors.ingress import IngressConfig, IngressWiring

log = structlog.get_logger(__name__)


class Teller(Protocol):
    """An actor handle, as the ingress uses it."""

    def tell(self, message: Any, timeout: float | None = None) -> None:
        """Queue `message`."""


class LetterStore(Protocol):
    """Keeps a dead letter durably before returning (Redis or the spill file)."""

    def store(self, letter: DeadLetter) -> None:
        """Store one letter; raises when it could not be kept."""


class Completion:
    """The second half of the ingress: everything after the journal answered."""

    def __init__(self, config: IngressConfig, wiring: IngressWiring, stream: IngressLog) -> None:
        self.config = config
        self.wiring = wiring
        self.stream = stream
        self.stream_key: str = getattr(stream, "key", "ingress")
        self.unacked: list[str] = []
        self.acked = 0
        self.dead_lettered = 0
        self.applied = 0
        self.ticks_dropped = 0

    def finish(self, batch: Batch, *, journal_degraded: bool) -> bool:
        """Complete a done batch; False when the journal refused its whole request."""
        del journal_degraded
        results = self._results(batch)
        if results is None:
            return False
        letters = list(batch.letters)
        prices: dict[Hashable, dict[int, Decimal]] = {}
        for routed in batch.routed:
            document = routed.document
            if isinstance(document, MarketTick):
                for holder in self.wiring.holdings.holders(document.instrument_token):
                    prices.setdefault(holder, {})[document.instrument_token] = document.last_price
                continue
            index = routed.event
            assert index is not None
            outcome = results[index]
            if isinstance(outcome, str):
                letters.append(
                    ingress_letter(
                        self.stream_key,
                        routed.entry,
                        message_type=document.type,
                        error_type="JournalRefused",
                        reason=outcome,
                        version=self.config.version,
                    )
                )
            elif isinstance(document, OrderFilled) and (outcome.inserted or batch.reapply):
                key = PortfolioKey(document.broker_namespace, document.portfolio_id)
                # Entered now, not when the portfolio gets to the fill, so a tick later in
                # the stream reaches it too (queued behind the fill in its mailbox).
                self.wiring.holdings.add(key, (document.instrument_token,))
                self._send_prices(key, prices.pop(key, None))
                self.wiring.portfolios.tell(
                    key,
                    ApplyFill(fill=document, journal_id=outcome.journal_id),
                    timeout=self.config.send_timeout_seconds,
                )
                self.applied += 1
        for holder, latest in prices.items():
            self._send_prices(holder, latest)
        for letter in letters:
            self.wiring.letters.store(letter)
            log.info("ingress_dead_lettered", entry=letter.source_id, letter_id=letter.id)
        self.dead_lettered += len(letters)
        self._ack(batch.entry_ids)
        return True

    def _results(self, batch: Batch) -> list[AppendResult | str] | None:
        """One result or refusal reason per journal event; None if the whole request failed."""
        if batch.singles is None:
            reply = batch.reply
            if reply is None:
                return []
            if reply.exception() is not None:
                return None
            return list(reply.result())
        outcomes: list[AppendResult | str] = []
        for index, future in enumerate(batch.singles):
            if index in batch.abandoned and not future.done():
                outcomes.append(
                    f"journal gave no answer within {self.config.journal_timeout_seconds:g} s"
                )
                continue
            error = future.exception()
            if error is not None:
                outcomes.append(f"journal refused the event: {type(error).__name__}")
            else:
                outcomes.append(future.result()[0])
        return outcomes

    def give_up_waiting(self, batch: Batch) -> None:
        """Stop waiting for the single requests of `batch` that have not answered."""
        if batch.singles is not None:
            batch.abandoned.update(i for i, f in enumerate(batch.singles) if not f.done())

    def _send_prices(self, key: Hashable, prices: dict[int, Decimal] | None) -> None:
        if not prices:
            return
        try:
            # Built from validated ticks, so pydantic's validation would only repeat itself.
            self.wiring.portfolios.tell(
                key, UpdateLastPrices.model_construct(prices=prices), timeout=0
            )
        except MailboxFull:
            # Ticks are not durable; a later tick or fill carries the price again.
            self.ticks_dropped += len(prices)

    def _ack(self, entry_ids: list[str]) -> None:
        self.unacked.extend(entry_ids)
        try:
            self.flush_acks()
        except redis.RedisError as exc:
            log.warning("ingress_ack_deferred", entries=len(self.unacked), error=type(exc).__name__)

    def flush_acks(self) -> None:
        """Acknowledge everything completed but not yet acknowledged (raises RedisError)."""
        if self.unacked:
            pending = self.unacked
            self.stream.ack(pending)
            self.acked += len(pending)
            self.unacked = []


class DeadLetterActorStore:
    """A LetterStore that asks the dead-letter actor and waits until the letter is kept.

    The runtime's sink only `tell`s; the ingress must know a letter is stored (in
    Redis or the fsync'd spill file) before it acknowledges the entry.
    """

    def __init__(self, actor_ref: pykka.ActorRef[Any], timeout: float = 30.0) -> None:
        self.actor_ref = actor_ref
        self.timeout = timeout

    def store(self, letter: DeadLetter) -> None:
        self.actor_ref.ask(DeliverLetter(letter=letter), timeout=self.timeout)
