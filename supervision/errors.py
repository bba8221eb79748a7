"""Errors of the supervision runtime: a short hierarchy, one meaning each."""

from __future__ import annotations


class SupervisionError(Exception):
    """Base of every error the supervision runtime raises."""


class MailboxFull(SupervisionError):  # noqa: N818 - the name says the outcome, as senders read it
    """The actor's mailbox stayed full for the whole send timeout."""


class AskTimeout(SupervisionError):  # noqa: N818 - the name says the outcome, as senders read it
    """No reply to an ask arrived within its timeout (the message may still be processed)."""


class ActorStopped(SupervisionError):  # noqa: N818 - the name says the outcome, as senders read it
    """The actor is stopped or stopping and takes no more messages."""


class MessageDeadLettered(SupervisionError):  # noqa: N818 - the name says the outcome, as senders read it
    """The asked message failed too often and went to the dead-letter sink."""


class Escalated(SupervisionError):  # noqa: N818 - the name says the outcome, as senders read it
    """A supervisor gave up (restart intensity exceeded) and stopped its children."""


class Reject(SupervisionError):  # noqa: N818 - the name says the outcome, as senders read it
    """Raised by an actor to dead-letter the current message at once, without retries."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
