"""The dump to load, read as UTF-8 bytes: a file path or a text stream.

The header line is read and checked here; the rest is handed on in large
chunks, untouched, for PostgreSQL to parse. `replay()` gives the whole dump
again for the slow path, which re-reads a path and keeps a stream's chunks.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, TextIO

from persistence.instruments.errors import InstrumentDumpError

COLUMNS = (
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry",
    "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange",
)  # fmt: skip
CHUNK = 1 << 20

DumpSource = str | os.PathLike[str] | TextIO


def check_header(line: str) -> None:
    """Raise InstrumentDumpError unless `line` is Kite's instruments header."""
    if not line:
        raise InstrumentDumpError("the instrument dump is empty: no header line")
    fields = next(csv.reader([line.removeprefix("\ufeff").rstrip("\r\n")]), [])
    if tuple(fields) != COLUMNS:
        raise InstrumentDumpError(
            f"line 1: header has {len(fields)} column(s) {','.join(fields)!r}, "
            f"expected {','.join(COLUMNS)!r}"
        )


class DumpBytes:
    """One instrument dump: its checked header, then its data as UTF-8 byte chunks."""

    def __init__(self, source: DumpSource) -> None:
        self._path = Path(source) if isinstance(source, str | os.PathLike) else None
        self._stream: TextIO | None = None if self._path else source  # type: ignore[assignment]
        self._kept: list[bytes] = []

    def data_chunks(self) -> Iterator[bytes]:
        """The bytes after the header line, in chunks (the header is checked first)."""
        if self._path is not None:
            with self._path.open("rb") as binary:
                check_header(_decode(binary.readline()))
                while chunk := binary.read(CHUNK):
                    yield chunk
            return
        assert self._stream is not None
        header = self._stream.readline()
        self._kept.append(header.encode())
        check_header(header)
        while text := self._stream.read(CHUNK):
            chunk = text.encode()
            self._kept.append(chunk)
            yield chunk

    def replay(self) -> BinaryIO:
        """The whole dump again from its first byte, header included."""
        if self._path is not None:
            return self._path.open("rb")
        assert self._stream is not None
        while text := self._stream.read(CHUNK):
            self._kept.append(text.encode())
        return io.BytesIO(b"".join(self._kept))


def _decode(header: bytes) -> str:
    try:
        return codecs.decode(header, "utf-8")
    except UnicodeDecodeError as exc:
        raise InstrumentDumpError(f"line 1: header is not UTF-8 text ({exc.reason})") from None
