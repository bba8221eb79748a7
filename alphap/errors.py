"""Errors of the command line and wiring layer."""


class AlphapError(Exception):
    """Base of every error alphap reports to its operator as a clear message."""


class SettingsError(AlphapError):
    """The settings are invalid; the message names the setting and the problem."""


class EmbeddedServerError(AlphapError):
    """An embedded PostgreSQL or Redis server could not be started or stopped."""
