"""Errors of the command line and wiring layer."""


class AlphapError(Exception):
    """Base of every error alphap reports to its operator as a clear message."""


class SettingsError(AlphapError):
    """The settings are invalid; the message names the setting and the problem."""

    def __init__(self, message: str, fields: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.fields = fields


class EmbeddedServerError(AlphapError):
    """An embedded PostgreSQL or Redis server could not be started or stopped."""
