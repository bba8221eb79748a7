"""alphap: the state daemon of a Zerodha Kite trading system."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("alphap")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
