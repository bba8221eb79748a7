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
