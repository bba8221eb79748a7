"""The final checks: what the daemon stored against what the reference model says it must."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
import redis

from actors.ingress_batch import letter_id
from actors.stream import GROUP, stream_key
from bench.chaos.load import Expected
from supervision.deadletters import DeadLetterRegistry, LetterFilter
from tests.fixtures.reference_model import snapshot_from_row, without_prices


@dataclass
class Verdict:
    """Counts of every way the stored state departs from the model (all zero when correct)."""

    events_expected: int = 0
    events_lost: int = 0
    events_duplicated: int = 0
    events_unexpected: int = 0
    portfolios_expected: int = 0
    portfolios_mismatched: int = 0
    letters_expected: int = 0
    letters_lost: int = 0
    letters_wrong: int = 0
    letters_other: int = 0
    letters_injected: int = 0
    spilled_left: int = 0
    unacknowledged: int = 0
    examples: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.events_lost + self.letters_lost

    @property
    def mismatched(self) -> int:
        return (
            self.portfolios_mismatched
            + self.events_unexpected
            + self.letters_wrong
            + self.letters_other
            + self.unacknowledged
        )

    def note(self, text: str) -> None:
        if len(self.examples) < 10:
            self.examples.append(text)


def _group(client: redis.Redis, prefix: str) -> dict[str, Any] | None:
    try:
        groups = client.xinfo_groups(stream_key(prefix))
    except redis.RedisError:
        return None
    for group in groups:
        if group["name"] in (GROUP, GROUP.encode()):
            return dict(group)
    return None


def group_backlog(client: redis.Redis, prefix: str) -> int | None:
    """Entries not yet read by the group plus those read but not acknowledged (None: unknown)."""
    group = _group(client, prefix)
    if group is None or group.get("lag") is None:
        return None
    return int(group["lag"]) + int(group["pending"])


def _entry(entry_id: Any) -> tuple[int, int]:
    text = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
    millis, _, seq = text.partition("-")
    return int(millis), int(seq or 0)


def last_entry(client: redis.Redis, prefix: str) -> tuple[int, int] | None:
    """The id of the newest entry of the stream (None when empty or unreachable)."""
    try:
        entries = client.xrevrange(stream_key(prefix), count=1)
    except redis.RedisError:
        return None
    return _entry(entries[0][0]) if entries else None


def acknowledged_through(client: redis.Redis, prefix: str, mark: tuple[int, int] | None) -> bool:
    """True once the group has read and acknowledged every entry up to `mark`."""
    if mark is None:
        return True
    group = _group(client, prefix)
    if group is None or _entry(group["last-delivered-id"]) < mark:
        return False
    try:
        pending = client.xpending(stream_key(prefix), GROUP)
    except redis.RedisError:
        return False
    return int(pending["pending"]) == 0 or _entry(pending["min"]) > mark


def verify(
    expected: Expected,
    database_url: str,
    client: redis.Redis,
    prefix: str,
    *,
    spilled: int,
    injected_letters: int,
) -> Verdict:
    verdict = Verdict(spilled_left=spilled)
    _events(verdict, expected, database_url)
    _portfolios(verdict, expected, database_url)
    _letters(verdict, expected, client, prefix, injected_letters)
    backlog = group_backlog(client, prefix)
    verdict.unacknowledged = backlog if backlog is not None else len(expected.event_ids)
    return verdict


def _events(verdict: Verdict, expected: Expected, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        stored = [str(r[0]) for r in conn.execute("SELECT event_id FROM trading_events")]
    unique = set(stored)
    verdict.events_expected = len(expected.event_ids)
    verdict.events_duplicated = len(stored) - len(unique)
    lost = expected.event_ids - unique
    verdict.events_lost = len(lost)
    verdict.events_unexpected = len(unique - expected.event_ids)
    for event_id in sorted(lost)[:3]:
        verdict.note(f"event {event_id} acknowledged but not journaled")


def _portfolios(verdict: Verdict, expected: Expected, database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT broker_namespace, portfolio_id, cash, total_realized_pnl,"
            " total_unrealized_pnl, total_pnl, positions FROM portfolio_snapshots"
        ).fetchall()
    actual = {
        (ns, pid): snapshot_from_row(cash, realized, unrealized, total, positions)
        for ns, pid, cash, realized, unrealized, total, positions in rows
    }
    verdict.portfolios_expected = len(expected.portfolios)
    for key in sorted(set(actual) | set(expected.portfolios)):
        model = expected.portfolios.get(key)
        stored = actual.get(key)
        if model is None or stored is None:
            verdict.portfolios_mismatched += 1
            verdict.note(f"portfolio {key}: {'no snapshot' if stored is None else 'not expected'}")
            continue
        if without_prices(stored) != without_prices(model.snapshot()):
            verdict.portfolios_mismatched += 1
            verdict.note(
                f"portfolio {key}: cash {stored['cash']} != {model.snapshot()['cash']}"
                f" or positions differ"
            )


def _letters(
    verdict: Verdict, expected: Expected, client: redis.Redis, prefix: str, injected: int
) -> None:
    registry = DeadLetterRegistry(client, prefix)
    key = stream_key(prefix)
    verdict.letters_expected = len(expected.letters)
    for entry_id, text in expected.letters:
        letter = registry.get(letter_id(key, entry_id))
        if letter is None:
            verdict.letters_lost += 1
            verdict.note(f"entry {entry_id} (malformed or refused) has no dead letter")
        elif letter.source_id != entry_id or letter.original != text or not letter.reason:
            verdict.letters_wrong += 1
            verdict.note(f"dead letter of {entry_id} lacks its document or reason")
    # An injected actor crash fails one message on every attempt: one letter each, expected.
    verdict.letters_injected = registry.count(LetterFilter(error_type="InjectedFault"))
    if verdict.letters_injected != injected:
        verdict.note(f"{verdict.letters_injected} letters of injected faults, {injected} injected")
    stored = verdict.letters_expected - verdict.letters_lost - verdict.letters_wrong
    verdict.letters_other = registry.count() - stored - verdict.letters_wrong
    verdict.letters_other -= verdict.letters_injected
    if verdict.letters_other:
        verdict.note(
            f"{verdict.letters_other} dead letters not from malformed or refused documents"
        )
