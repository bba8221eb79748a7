"""Errors of the instrument master loader."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from persistence.errors import PersistenceError

SHOWN_PROBLEMS = 20


@dataclass(frozen=True)
class InvalidRow:
    """A row of the dump that was not loaded: its physical line number and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


class InstrumentDumpError(PersistenceError):
    """The dump cannot be loaded as it is; nothing was changed."""


class InvalidDumpRowsError(InstrumentDumpError):
    """Rows of the dump are invalid; lists the first problems and how many there are."""

    def __init__(self, problems: Sequence[InvalidRow]) -> None:
        self.problems = tuple(problems)
        shown = "\n".join(f"  {p}" for p in self.problems[:SHOWN_PROBLEMS])
        more = len(self.problems) - SHOWN_PROBLEMS
        tail = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(
            f"{len(self.problems)} invalid row(s) in the instrument dump, nothing loaded:\n"
            f"{shown}{tail}"
        )
