"""The dead-letter registry: a few verbs over the letters kept in Redis (rq's FailedJobRegistry).

Every change runs in one Lua script, so concurrent adds, removals and requeues
keep the letter hashes, the indexes and the stats consistent. Bulk verbs first
select the ids matching their filter, then act on those ids only: a letter
added meanwhile is never touched, and nothing is ever deleted wholesale.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeAlias, overload

import redis
import structlog
from redis.client import Pipeline

from supervision.deadletters import scripts
from supervision.deadletters.keys import DeadLetterKeys
from supervision.deadletters.letter import DeadLetter
from supervision.deadletters.models import (
    DeadLetterStats,
    LetterFilter,
    RequeueReport,
    RetentionPolicy,
    score_of,
)
from supervision.deadletters.redact import redact_letter
from supervision.redaction import DEFAULT_REDACTOR, Redactor

log = structlog.get_logger(__name__)

# Retention work done by one add, so an add stays cheap however far behind
# retention is; cleanup() finishes the rest.
TRIM_BUDGET_PER_ADD = 100
CLEANUP_BATCH = 1_000
REMOVE_BATCH = 500
READ_BATCH = 500
# A 'requeuing' claim older than this is taken to belong to a requeue that
# crashed after its put and before removing the letter.
DEFAULT_CLAIM_TIMEOUT = timedelta(minutes=5)

ADDED, ALREADY_STORED, REMOVED_BEFORE = 1, 0, -1

ScriptArg: TypeAlias = str | int | float


class Requeuer(Protocol):
    """Where a requeued letter goes (for example back onto the ingress stream).

    `put` must raise when the letter was not accepted. It may be called again
    with the same letter after a crash between a successful put and the
    letter's removal, so a target that must never see a duplicate dedupes on
    `letter.id`.
    """

    def put(self, letter: DeadLetter) -> None:
        """Accept one letter again."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class DeadLetterRegistry:
    """Dead letters under `<prefix>:dlq` in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        *,
        retention: RetentionPolicy | None = None,
        redactor: Redactor = DEFAULT_REDACTOR,
        claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.client = client
        self.keys = DeadLetterKeys(prefix)
        self.retention = retention or RetentionPolicy()
        self.redactor = redactor
        self.claim_timeout = claim_timeout
        self.clock = clock
        self._add = client.register_script(scripts.ADD)
        self._remove = client.register_script(scripts.REMOVE)
        self._trim = client.register_script(scripts.TRIM)
        self._claim = client.register_script(scripts.CLAIM)
        self._finish = client.register_script(scripts.FINISH)
        self._release = client.register_script(scripts.RELEASE)
        self._select_both = client.register_script(scripts.SELECT_BOTH)

    def _now_score(self) -> float:
        return score_of(self.clock())

    def _retention_args(self) -> list[ScriptArg]:
        cutoff = score_of(self.clock() - self.retention.max_age)
        return [repr(cutoff), self.retention.max_entries, self.retention.max_tombstones]

    @overload
    def add(self, letter: DeadLetter, pipeline: None = None) -> int: ...
    @overload
    def add(self, letter: DeadLetter, pipeline: Pipeline) -> None: ...
    def add(self, letter: DeadLetter, pipeline: Pipeline | None = None) -> int | None:
        """Store a letter (redacted) unless its id is stored or was removed; trims retention.

        Returns ADDED, ALREADY_STORED or REMOVED_BEFORE; with a pipeline the
        script is queued and its result comes from `pipeline.execute()`.
        """
        clean = redact_letter(letter, self.redactor)
        args = [
            self.keys.base,
            clean.id,
            clean.model_dump_json(),
            repr(score_of(clean.last_failed_at)),
            clean.actor,
            clean.error_type,
            *self._retention_args(),
            TRIM_BUDGET_PER_ADD,
        ]
        if pipeline is not None:
            self._add(args=args, client=pipeline)
            return None
        return int(self._add(args=args))

    def get(self, letter_id: str) -> DeadLetter | None:
        """The letter with this id, or None."""
        data = self.client.hget(self.keys.letter(letter_id), "data")
        return None if data is None else DeadLetter.model_validate_json(data)

    def get_ids(
        self, where: LetterFilter | None = None, *, limit: int | None = None, offset: int = 0
    ) -> Sequence[str]:
        """Ids of the letters matching `where`, newest first."""
        where = where or LetterFilter()
        high = "+inf" if where.until is None else f"({score_of(where.until)!r}"
        low = "-inf" if where.since is None else repr(score_of(where.since))
        sets = [
            self.keys.actor(where.actor) if where.actor is not None else None,
            self.keys.error_type(where.error_type) if where.error_type is not None else None,
        ]
        chosen = [key for key in sets if key is not None]
        if len(chosen) == 2:
            args: list[ScriptArg] = [
                self.keys.base,
                *chosen,
                high,
                low,
                offset,
                -1 if limit is None else limit,
            ]
            ids = self._select_both(args=args)
        else:
            key = chosen[0] if chosen else self.keys.index
            ids = self.client.zrange(
                key,
                high,
                low,
                byscore=True,
                desc=True,
                offset=offset,
                num=-1 if limit is None else limit,
            )
        return [_text(i) for i in ids]

    def list(
        self, where: LetterFilter | None = None, *, limit: int = 100, offset: int = 0
    ) -> Sequence[DeadLetter]:
        """The letters matching `where`, newest first (`limit`/`offset` page through them)."""
        found = self.get_many(self.get_ids(where, limit=limit, offset=offset))
        return [letter for letter in found if letter is not None]

    def get_many(self, letter_ids: Sequence[str]) -> Sequence[DeadLetter | None]:
        """The letters with these ids, in the same order; None where a letter is gone."""
        if not letter_ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for letter_id in letter_ids:
            pipe.hget(self.keys.letter(letter_id), "data")
        return [None if d is None else DeadLetter.model_validate_json(d) for d in pipe.execute()]

    def scan(
        self, where: LetterFilter | None = None, *, batch: int = READ_BATCH
    ) -> Iterator[DeadLetter]:
        """Every letter matching `where` now, oldest first, read `batch` at a time.

        The ids are selected once, up front: letters added meanwhile are not
        visited, letters removed meanwhile are left out.
        """
        ids = list(reversed(self.get_ids(where)))
        for start in range(0, len(ids), batch):
            for letter in self.get_many(ids[start : start + batch]):
                if letter is not None:
                    yield letter

    def count(self, where: LetterFilter | None = None) -> int:
        """How many letters match `where`."""
        where = where or LetterFilter()
        if where.actor is not None and where.error_type is not None:
            return len(self.get_ids(where))
        key = self.keys.index
        if where.actor is not None:
            key = self.keys.actor(where.actor)
        elif where.error_type is not None:
            key = self.keys.error_type(where.error_type)
        low = "-inf" if where.since is None else repr(score_of(where.since))
        high = "+inf" if where.until is None else f"({score_of(where.until)!r}"
        return int(self.client.zcount(key, low, high))

    @overload
    def remove(self, letter_id: str, pipeline: None = None) -> bool: ...
    @overload
    def remove(self, letter_id: str, pipeline: Pipeline) -> None: ...
    def remove(self, letter_id: str, pipeline: Pipeline | None = None) -> bool | None:
        """Delete one letter; its id is remembered so a replay of it is not stored again."""
        args = [self.keys.base, repr(self._now_score()), letter_id]
        if pipeline is not None:
            self._remove(args=args, client=pipeline)
            return None
        return int(self._remove(args=args)) == 1

    def purge(self, where: LetterFilter) -> int:
        """Delete exactly the letters matching `where` now; returns how many were deleted.

        `where` is required: `LetterFilter()` (all letters) must be asked for explicitly.
        """
        removed = self.purge_ids(self.get_ids(where))
        log.info("dead_letters_purged", filter=where.model_dump(mode="json"), removed=removed)
        return removed

    def purge_ids(self, letter_ids: Iterable[str]) -> int:
        """Delete exactly these letters (ids already gone are ignored); returns how many went.

        For a selection an operator has seen and confirmed: whatever arrives
        meanwhile, only these ids are touched.
        """
        ids = list(letter_ids)
        removed = 0
        for start in range(0, len(ids), REMOVE_BATCH):
            batch = ids[start : start + REMOVE_BATCH]
            removed += int(self._remove(args=[self.keys.base, repr(self._now_score()), *batch]))
        return removed

    def requeue(self, letter_id: str, target: Requeuer) -> bool:
        """Put one letter to `target`, then remove it; True when this call requeued it.

        The letter is claimed ('requeuing') atomically first, so concurrent or
        repeated requeues put it once; if `target.put` raises the claim is
        released, the letter stays and the error propagates.
        """
        token = uuid.uuid4().hex
        now = self._now_score()
        stale_before = repr(score_of(self.clock() - self.claim_timeout))
        claimed = self._claim(args=[self.keys.base, letter_id, repr(now), stale_before, token])
        if _text(claimed[0]) != "claimed":
            return False
        letter = DeadLetter.model_validate_json(claimed[1])
        try:
            target.put(letter)
        except Exception:
            self._release(args=[self.keys.base, letter_id, token])
            raise
        self._finish(args=[self.keys.base, letter_id, token, repr(self._now_score())])
        return True

    def requeue_matching(self, where: LetterFilter, target: Requeuer) -> RequeueReport:
        """Requeue exactly the letters matching `where` now, oldest first.

        A failed put keeps its letter and is reported; the others go on.
        """
        report = self.requeue_ids(reversed(self.get_ids(where)), target)
        log.info(
            "dead_letters_requeued",
            filter=where.model_dump(mode="json"),
            requeued=len(report.requeued),
            skipped=len(report.skipped),
            failed=len(report.failed),
        )
        return report

    def requeue_ids(self, letter_ids: Iterable[str], target: Requeuer) -> RequeueReport:
        """Requeue exactly these letters, in the order given, each as `requeue` does.

        A failed put keeps its letter and is reported; the others go on. A
        redis.RedisError (the registry's or the target's) stops the run and propagates.
        """
        requeued: list[str] = []
        skipped: list[str] = []
        failed: dict[str, str] = {}
        for letter_id in letter_ids:
            try:
                done = self.requeue(letter_id, target)
            except redis.RedisError:
                raise
            except Exception as exc:
                failed[letter_id] = self.redactor.text(f"{type(exc).__name__}: {exc}")
                continue
            (requeued if done else skipped).append(letter_id)
        return RequeueReport(requeued=tuple(requeued), skipped=tuple(skipped), failed=failed)

    def cleanup(self) -> int:
        """Apply retention (age, then count) fully; returns how many letters were dropped."""
        dropped = 0
        while True:
            batch = int(self._trim(args=[self.keys.base, *self._retention_args(), CLEANUP_BATCH]))
            dropped += batch
            if batch < CLEANUP_BATCH:
                return dropped

    def stats(self) -> DeadLetterStats:
        """Counts by actor and by error type, and the oldest and newest failure times."""
        pipe = self.client.pipeline(transaction=True)
        pipe.hgetall(self.keys.stats)
        pipe.zcard(self.keys.index)
        pipe.zrange(self.keys.index, 0, 0, withscores=True)
        pipe.zrange(self.keys.index, -1, -1, withscores=True)
        counts, total, oldest, newest = pipe.execute()
        by_actor: dict[str, int] = {}
        by_error: dict[str, int] = {}
        for raw_field, raw_value in counts.items():
            kind, _, name = _text(raw_field).partition(":")
            (by_actor if kind == "actor" else by_error)[name] = int(raw_value)
        return DeadLetterStats(
            total=int(total),
            by_actor=by_actor,
            by_error_type=by_error,
            oldest=_moment(oldest),
            newest=_moment(newest),
        )


def _moment(entries: Sequence[tuple[Any, float]]) -> datetime | None:
    return datetime.fromtimestamp(entries[0][1], UTC) if entries else None
