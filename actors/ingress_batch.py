"""One batch of ingress entries: parsed, routed, and what its acknowledgement waits for.

Routing is pure: invalid documents and refused fills become dead letters, fills
and trading events become journal events, ticks are kept for their turn. The
batch remembers every entry id, so it is acknowledged whole once durable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from actors.documents import MarketTick, OrderFilled, TradingEvent, parse_document
from actors.documents.json_text import MAX_DOCUMENT_BYTES
from actors.errors import InvalidDocumentError
from actors.stream import StreamEntry
from persistence.repositories.events import AppendResult, Event
from supervision.deadletters import DeadLetter

INGRESS_ACTOR = "ingress"
# Letter ids derive from the stream and entry id, so an entry delivered again
# after a crash (dead-lettered, not yet acknowledged) is stored only once.
_LETTER_NAMESPACE = uuid.UUID("6f1d3c1e-6a43-4a8e-9b0c-2f1e9b7e4a10")
ORIGINAL_PREVIEW_BYTES = 512

Refusal = Callable[[OrderFilled], str | None]


def letter_id(stream: str, entry_id: str) -> str:
    """The dead letter id of one stream entry."""
    return uuid.uuid5(_LETTER_NAMESPACE, f"{stream}/{entry_id}").hex


def ingress_letter(
    stream: str,
    entry: StreamEntry,
    *,
    message_type: str,
    error_type: str,
    reason: str,
    version: str,
) -> DeadLetter:
    """A dead letter keeping the raw document and the entry id for replay.

    A document over MAX_DOCUMENT_BYTES is refused for its size whatever it holds,
    so replaying it could never succeed: the letter keeps only its size and a
    short preview, and one oversized entry cannot grow Redis by megabytes.
    """
    data = entry.data
    original = None
    payload: dict[str, object] = {}
    if data is not None and len(data) > MAX_DOCUMENT_BYTES:
        preview = data[:ORIGINAL_PREVIEW_BYTES].decode("utf-8", "replace")
        payload = {"original_bytes": len(data), "original_preview": preview}
    elif data is not None:
        original = data.decode("utf-8", "replace")
    return DeadLetter(
        id=letter_id(stream, entry.entry_id),
        actor=INGRESS_ACTOR,
        message_type=message_type,
        reason=reason,
        error_type=error_type,
        error_message=reason,
        attempts=1,
        version=version,
        original=original,
        payload=payload,
        source_id=entry.entry_id,
    )


@dataclass(slots=True)
class Routed:
    """One valid entry in stream order; `event` is its index in the batch's journal events."""

    entry: StreamEntry
    document: OrderFilled | MarketTick | TradingEvent
    event: int | None = None


@dataclass
class Batch:
    """Entries read together; acknowledged together once every effect is durable."""

    seq: int
    entry_ids: list[str]
    routed: list[Routed] = field(default_factory=list)
    letters: list[DeadLetter] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    reply: Future[list[AppendResult]] | None = None
    sent_at: float = field(default_factory=time.monotonic)
    # After a split (the whole request failed or stalled): one request per event.
    singles: list[Future[list[AppendResult]]] | None = None
    # Apply journaled fills even when the journal calls them duplicates: the
    # entries were delivered before (or the batch was split), so the first
    # attempt may have journaled them without their fills reaching a portfolio.
    # Portfolios ignore journal ids they already applied.
    reapply: bool = False
    # Single requests no longer waited for (the journal stalled on them while healthy).
    abandoned: set[int] = field(default_factory=set)

    def done(self) -> bool:
        """True once the journal answered (or was given up on) for every event of the batch."""
        if self.singles is not None:
            return all(f.done() or i in self.abandoned for i, f in enumerate(self.singles))
        if not self.events:
            return True
        return self.reply is not None and self.reply.done()

    def sent(self) -> bool:
        """True once the batch's events went to the journal (or it has none)."""
        return not self.events or self.reply is not None or self.singles is not None

    def settled(self) -> bool:
        """True once the journal is done with the batch: the next batch may go to it.

        A batch whose whole request failed is not settled until it has been split
        and its single requests answered, so journal order stays stream order.
        """
        if not self.done():
            return False
        return self.singles is not None or self.reply is None or self.reply.exception() is None

    @property
    def size(self) -> int:
        return len(self.entry_ids)


def route(
    seq: int,
    entries: Sequence[StreamEntry],
    *,
    stream: str,
    refusal: Refusal,
    version: str,
) -> Batch:
    """Parse and route every entry of a batch (no I/O)."""
    batch = Batch(seq, [entry.entry_id for entry in entries])
    for entry in entries:
        if entry.redelivered:
            batch.reapply = True
        if entry.data is None:
            batch.letters.append(
                ingress_letter(
                    stream,
                    entry,
                    message_type="ingress_entry",
                    error_type="InvalidDocumentError",
                    reason="entry has no data field",
                    version=version,
                )
            )
            continue
        try:
            document = parse_document(entry.data)
        except InvalidDocumentError as exc:
            batch.letters.append(
                ingress_letter(
                    stream,
                    entry,
                    message_type="ingress_document",
                    error_type=type(exc).__name__,
                    reason=exc.reason,
                    version=version,
                )
            )
            continue
        if isinstance(document, MarketTick):
            batch.routed.append(Routed(entry, document))
            continue
        if isinstance(document, OrderFilled):
            refused = refusal(document)
            if refused is not None:
                batch.letters.append(
                    ingress_letter(
                        stream,
                        entry,
                        message_type=document.type,
                        error_type="StrategyRefused",
                        reason=refused,
                        version=version,
                    )
                )
                continue
        # The document was validated strictly already; the journal record needs no second pass.
        batch.events.append(Event.model_construct(**document.to_journal_record()))
        batch.routed.append(Routed(entry, document, len(batch.events) - 1))
    return batch
