"""Errors of the trading actors."""


class ActorsError(Exception):
    """Base of the errors raised by the trading actors and their messages."""


class InvalidDocumentError(ActorsError):
    """An ingress document breaks the ingress contract; `reason` says how, without its values."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AccountingError(ActorsError):
    """A fill, tick or snapshot cannot be applied under the portfolio accounting rules."""


class KiteError(ActorsError):
    """A call to Kite Connect failed; the message is redacted, `status` is the HTTP code if any."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LoginRequired(KiteError):  # noqa: N818 - names the state the session actor must act on
    """Kite rejected the access or request token: only a fresh login helps."""


class KiteRejectedError(KiteError):
    """Kite refused the request itself (input, permission, order): retrying cannot help."""


class KiteUnavailableError(KiteError):
    """Kite stayed unreachable, overloaded or failing after every retry."""


class JournalRefusedError(ActorsError):
    """The database refused a journal request's events for a data reason; retrying cannot help."""


class JournalUnavailableError(ActorsError):
    """The journal stopped before the database took a buffered request (it was not committed)."""


class ReplayRefusedError(ActorsError):
    """A dead letter cannot go back onto the ingress stream (no original, or Redis refused it)."""
