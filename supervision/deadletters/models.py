"""Value objects the registry takes and returns: filters, retention, stats, reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

from supervision.deadletters.letter import DeadLetter

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_MAX_AGE = timedelta(days=30)
# Ids of removed letters are remembered so a late replay of the same letter
# (a spill file drained twice) is not stored again; this bounds that memory.
DEFAULT_MAX_TOMBSTONES = 100_000


def aware(moment: datetime) -> datetime:
    """A naive datetime is taken to be UTC, as every timestamp alphap writes is."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def score_of(moment: datetime) -> float:
    """The sorted-set score of a moment: epoch seconds (microseconds stay distinct)."""
    return aware(moment).timestamp()


class LetterFilter(BaseModel):
    """Which letters a query or bulk operation concerns; an empty filter means all of them.

    `since` is inclusive and `until` exclusive, both compared with `last_failed_at`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str | None = None
    error_type: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def matches(self, letter: DeadLetter) -> bool:
        """True when `letter` is selected by this filter (the same rule Redis applies)."""
        score = score_of(letter.last_failed_at)
        return (
            (self.actor is None or letter.actor == self.actor)
            and (self.error_type is None or letter.error_type == self.error_type)
            and (self.since is None or score >= score_of(self.since))
            and (self.until is None or score < score_of(self.until))
        )


class RetentionPolicy(BaseModel):
    """How many letters are kept, and for how long (by `last_failed_at`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_entries: PositiveInt = DEFAULT_MAX_ENTRIES
    max_age: timedelta = Field(default=DEFAULT_MAX_AGE, gt=timedelta(0))
    max_tombstones: PositiveInt = DEFAULT_MAX_TOMBSTONES


class DeadLetterStats(BaseModel):
    """Counts of the stored letters, for the console and `alphap dlq stats`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    total: int
    by_actor: dict[str, int]
    by_error_type: dict[str, int]
    oldest: datetime | None
    newest: datetime | None


class RequeueReport(BaseModel):
    """What a bulk requeue did to each selected letter id."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    requeued: tuple[str, ...] = ()
    skipped: tuple[str, ...] = Field(
        default=(), description="gone, or being requeued by someone else, when reached"
    )
    failed: dict[str, str] = Field(
        default_factory=dict, description="letter id -> error text, letter kept"
    )
