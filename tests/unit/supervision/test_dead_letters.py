"""Poison messages and deliberate rejections reach the sink with redacted context."""

from __future__ import annotations

import os
import socket
from concurrent.futures import Future

import pytest
import structlog.testing
from pydantic import BaseModel, ConfigDict

from supervision import ChildSpec, MessageDeadLettered, Reject, SupervisedActor, Supervisor
from supervision.redaction import DEFAULT_REDACTOR, MASK
from tests.unit.supervision.support import WAIT, Journal, MemorySink, Recorder, fast_config

SECRET = "s3cr3t-access-token-value"  # noqa: S105 - a fake secret the test hunts for


class PlaceOrder(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    access_token: str
    original: str | None = None
    source_id: str | None = None


class Validating(SupervisedActor):
    def handle(self, message: object) -> object:
        if isinstance(message, PlaceOrder) and message.symbol == "":
            raise Reject("symbol must not be empty")
        if isinstance(message, PlaceOrder) and message.symbol == "CRASH":
            raise RuntimeError(f"broker said no to token {SECRET}")
        return "ok"


@pytest.fixture
def root(sink: MemorySink):  # type: ignore[no-untyped-def]
    DEFAULT_REDACTOR.register([SECRET])
    supervisor = Supervisor("root", [ChildSpec("orders", Validating)], config=fast_config(sink))
    supervisor.start()
    yield supervisor
    supervisor.stop()


def test_a_rejected_message_is_dead_lettered_at_once_and_the_actor_is_not_restarted(
    root: Supervisor, sink: MemorySink
) -> None:
    ref = root.ref("orders")
    with pytest.raises(Reject, match="symbol must not be empty"):
        ref.ask(PlaceOrder(symbol="", access_token=SECRET, source_id="1-0"), timeout=WAIT)
    assert ref.ask(PlaceOrder(symbol="INFY", access_token=SECRET), timeout=WAIT) == "ok"
    (letter,) = sink.letters
    assert letter.reason == "rejected"
    assert letter.attempts == 1
    assert letter.source_id == "1-0"
    assert ref.info().restarts == 0


def test_a_dead_letter_carries_the_full_context_without_secrets(
    root: Supervisor, sink: MemorySink
) -> None:
    message = PlaceOrder(
        symbol="CRASH", access_token=SECRET, original='{"symbol": "CRASH"}', source_id="7-1"
    )
    with structlog.testing.capture_logs() as logs, pytest.raises(MessageDeadLettered):
        root.ref("orders").ask(message, timeout=WAIT)
    (letter,) = sink.letters
    assert letter.actor == "orders"
    assert letter.message_type == "PlaceOrder"
    assert letter.payload["symbol"] == "CRASH"
    assert letter.payload["access_token"] == MASK
    assert letter.error_type == "RuntimeError"
    assert "broker said no" in letter.error_message
    assert "RuntimeError" in letter.traceback
    assert letter.attempts == 3
    assert letter.first_failed_at <= letter.last_failed_at
    assert letter.host == socket.gethostname()
    assert letter.pid == os.getpid()
    assert letter.version == "test-1"
    assert letter.original == '{"symbol": "CRASH"}'
    assert letter.source_id == "7-1"
    dumped = letter.model_dump_json()
    assert SECRET not in dumped
    assert all(SECRET not in repr(event) for event in logs)
    assert any(event["event"] == "message_dead_lettered" for event in logs)


def test_a_failing_sink_is_logged_and_the_actor_goes_on(sink: MemorySink) -> None:
    class BrokenSink:
        def deliver(self, letter: object) -> None:
            raise ConnectionError("redis away")

    journal = Journal()
    spec = ChildSpec("a", lambda: Recorder(journal, "a", fail_on=lambda m: m == "bad"))
    config = fast_config(None).__class__(
        **{**fast_config(None).__dict__, "dead_letters": BrokenSink()}
    )
    with Supervisor("root", [spec], config=config).start() as root:
        with structlog.testing.capture_logs() as logs, pytest.raises(MessageDeadLettered):
            root.ref("a").ask("bad", timeout=WAIT)
        assert root.ref("a").ask("good", timeout=WAIT) == "good"
    assert any(event["event"] == "dead_letter_delivery_failed" for event in logs)


def test_messages_that_are_not_pydantic_models_are_kept_as_their_repr(sink: MemorySink) -> None:
    journal = Journal()
    spec = ChildSpec("a", lambda: Recorder(journal, "a", fail_on=lambda m: True), max_attempts=1)
    root = Supervisor("root", [spec], config=fast_config(sink)).start()
    with root, pytest.raises(MessageDeadLettered):
        root.ref("a").ask(("tuple", 1), timeout=WAIT)
    assert sink.letters[0].payload == {"repr": "('tuple', 1)"}
    assert sink.letters[0].attempts == 1


class WithReply(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    events: tuple[int, ...]
    reply: Future[int]


def test_a_message_carrying_a_future_is_dead_lettered_and_the_actor_lives_on(
    sink: MemorySink,
) -> None:
    # The journal's AppendToJournal carries its reply Future: the chaos campaign found
    # that dead-lettering one raised in the host and left the journal dead for good.
    journal = Journal()
    spec = ChildSpec(
        "a",
        lambda: Recorder(journal, "a", fail_on=lambda m: isinstance(m, WithReply)),
        max_attempts=2,
    )
    root = Supervisor("root", [spec], config=fast_config(sink)).start()
    reply: Future[int] = Future()
    with root:
        root.ref("a").tell(WithReply(events=(1, 2), reply=reply))
        [letter] = sink.wait_for(1)
        assert root.ref("a").ask("after", timeout=WAIT) == "after"
    assert letter.payload["events"] == [1, 2]
    assert letter.payload["reply"].startswith("<Future at ")
    assert letter.attempts == 2
    # Its sender learns at once, not after its own timeout.
    assert isinstance(reply.exception(timeout=0), MessageDeadLettered)
