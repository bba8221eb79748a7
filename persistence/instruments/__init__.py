"""The instrument master: Kite's instruments dump loaded into instruments and its registry."""

from persistence.instruments.errors import InstrumentDumpError, InvalidDumpRowsError, InvalidRow
from persistence.instruments.loader import LoadResult, load_instruments
from persistence.instruments.source import COLUMNS, DumpSource

__all__ = [
    "COLUMNS",
    "DumpSource",
    "InstrumentDumpError",
    "InvalidDumpRowsError",
    "InvalidRow",
    "LoadResult",
    "load_instruments",
]
