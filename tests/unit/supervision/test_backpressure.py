"""Bounded mailboxes: a full mailbox blocks the sender up to its timeout, then MailboxFull."""

from __future__ import annotations

import threading

import pytest

from supervision import AskTimeout, ChildSpec, MailboxFull, Supervisor
from supervision.envelope import Envelope
from supervision.mailbox import HostInbox, Mailbox
from tests.unit.supervision.support import WAIT, Journal, MemorySink, Recorder, fast_config


def test_a_sender_facing_a_full_mailbox_gets_mailbox_full(sink: MemorySink) -> None:
    journal = Journal()
    gate = threading.Event()
    spec = ChildSpec("a", lambda: Recorder(journal, "a", gate=gate), mailbox_size=3)
    with Supervisor("root", [spec], config=fast_config(sink)).start() as root:
        ref = root.ref("a")
        ref.tell(0)
        journal.wait(lambda j: len(j.entered) == 1)
        for n in range(1, 4):
            ref.tell(n, timeout=0)
        with pytest.raises(MailboxFull):
            ref.tell(4, timeout=0.01)
        assert ref.info().mailbox_depth == 3
        gate.set()
        ref.tell(4, timeout=WAIT)
        journal.wait(lambda j: len(j.handled) == 5)
        assert [m for _, m in journal.handled] == [0, 1, 2, 3, 4]


def test_a_blocked_sender_proceeds_as_soon_as_there_is_room() -> None:
    mailbox = Mailbox(1)
    inbox = HostInbox(mailbox)
    mailbox.put(Envelope("first"), 0)
    sent = threading.Event()

    def send() -> None:
        mailbox.put(Envelope("second"), WAIT)
        sent.set()

    sender = threading.Thread(target=send)
    sender.start()
    assert inbox.get().payload == "first"
    assert sent.wait(WAIT)
    sender.join(WAIT)
    assert inbox.get().payload == "second"


def test_an_ask_without_reply_in_time_raises_ask_timeout(sink: MemorySink) -> None:
    journal = Journal()
    gate = threading.Event()
    spec = ChildSpec("a", lambda: Recorder(journal, "a", gate=gate))
    with Supervisor("root", [spec], config=fast_config(sink)).start() as root:
        with pytest.raises(AskTimeout):
            root.ref("a").ask("slow", timeout=0.05)
        gate.set()


def test_control_messages_jump_the_queue_and_a_retried_envelope_goes_first() -> None:
    mailbox = Mailbox(10)
    inbox = HostInbox(mailbox)
    first, second = Envelope(1), Envelope(2)
    mailbox.put(first, 0)
    mailbox.put(second, 0)
    inbox.put("control")
    assert inbox.get() == "control"
    assert inbox.get() is first
    mailbox.put_front(first)
    assert inbox.get() is first
    assert inbox.get() is second
    assert mailbox.try_park()
    assert mailbox.put(Envelope(3), 0) is True
    assert mailbox.put(Envelope(4), 0) is False
