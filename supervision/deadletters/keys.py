"""Where the dead letters live in Redis: every key name in one place.

The Lua scripts in `scripts.py` build the same names from `base`; keep the
suffixes below and theirs in step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeadLetterKeys:
    """Key names under `<prefix>:dlq`."""

    prefix: str

    @property
    def base(self) -> str:
        return f"{self.prefix}:dlq"

    def letter(self, letter_id: str) -> str:
        """Hash of one letter: `data` (JSON), `actor`, `error_type`, `state`, claim fields."""
        return f"{self.base}:letter:{letter_id}"

    @property
    def index(self) -> str:
        """Sorted set of every letter id, scored by `last_failed_at` (epoch seconds)."""
        return f"{self.base}:index"

    def actor(self, actor: str) -> str:
        """Sorted set of the ids of one actor's letters, scored like the index."""
        return f"{self.base}:actor:{actor}"

    def error_type(self, error_type: str) -> str:
        """Sorted set of the ids of one error type's letters, scored like the index."""
        return f"{self.base}:error:{error_type}"

    @property
    def stats(self) -> str:
        """Hash of counts: `actor:<name>` and `error:<type>` fields."""
        return f"{self.base}:stats"

    @property
    def removed(self) -> str:
        """Sorted set of ids removed or requeued, scored by removal time (tombstones)."""
        return f"{self.base}:removed"
