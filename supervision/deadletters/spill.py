"""The local spill file: dead letters kept on disk while Redis is unreachable.

JSON lines, one letter each, appended and fsync'd before `append` returns.
A drain first renames the file to `<name>.draining` (so new letters go to a
fresh file), stores each line through an idempotent add, and deletes the
draining file only after every line was confirmed. A crash at any point
leaves the draining file, which the next drain replays; the id-keyed add
makes the replay store nothing twice.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from pydantic import ValidationError

from supervision.deadletters.letter import DeadLetter

log = structlog.get_logger(__name__)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _count_lines(path: Path) -> int:
    with contextlib.suppress(FileNotFoundError), path.open("rb") as f:
        return sum(1 for line in f if line.strip())
    return 0


class SpillFile:
    """An append-only, fsync'd JSON-lines file of dead letters; thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.draining_path = path.with_name(path.name + ".draining")
        self.rejected_path = path.with_name(path.name + ".rejected")
        self._lock = threading.Lock()  # guards the file being appended to
        self._drain_lock = threading.Lock()  # one drain at a time
        self._pending = _count_lines(self.draining_path) + _count_lines(self.path)

    @property
    def pending(self) -> int:
        """Letters on disk not yet confirmed stored in Redis."""
        return self._pending

    def append(self, letter: DeadLetter) -> None:
        """Write one letter durably (the caller has redacted it)."""
        line = letter.model_dump_json().encode() + b"\n"
        with self._lock:
            _append_durably(self.path, line)
            self._pending += 1

    def drain(self, store: Callable[[DeadLetter], object]) -> int:
        """Store every spilled letter through `store`; returns how many lines were confirmed.

        `store` must be idempotent by letter id. If it raises, the draining
        file is kept as it is and the error propagates.
        """
        with self._drain_lock:
            confirmed = 0
            while True:
                with self._lock:
                    if not self.draining_path.exists():
                        if not self.path.exists():
                            return confirmed
                        self.path.rename(self.draining_path)
                        _fsync_dir(self.path.parent)
                confirmed += self._drain_file(store)
                with self._lock:
                    self.draining_path.unlink()
                    _fsync_dir(self.path.parent)
                    self._pending = _count_lines(self.path)

    def _drain_file(self, store: Callable[[DeadLetter], object]) -> int:
        confirmed = 0
        with self.draining_path.open("rb") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    letter = DeadLetter.model_validate_json(line)
                except ValidationError:
                    # A torn last write from a crash, or a foreign line: keep it aside.
                    _append_durably(self.rejected_path, line.rstrip(b"\n") + b"\n")
                    log.warning("dead_letter_spill_line_rejected", line=number)
                    continue
                store(letter)
                confirmed += 1
        return confirmed


def _append_durably(path: Path, line: bytes) -> None:
    created = not path.exists()
    with path.open("a+b") as f:
        # A crash mid-write can leave a line without its newline; start a fresh one.
        if f.tell() > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    if created:
        _fsync_dir(path.parent)
