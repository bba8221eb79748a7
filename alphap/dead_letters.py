"""How `alphap dlq` reads its filters and shows dead letters: times, rows, details, stats."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from supervision.deadletters import DeadLetter, DeadLetterStats, LetterFilter

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_ERROR_WIDTH = 60
LIST_COLUMNS = ("id", "last_failed_at", "actor", "error_type", "attempts", "source", "error")


def parse_moment(text: str, now: datetime | None = None) -> datetime:
    """An ISO-8601 time with an offset, or an age like 30m, 2h, 3d, 1w (that long before now).

    Raises ValueError with a message for the operator.
    """
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an ISO-8601 time (2026-11-01T09:15:00+05:30) "
            "nor an age like 30m, 2h, 3d or 1w"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset: add one, for example Z or +05:30")
    return moment


def filter_text(where: LetterFilter) -> str:
    """The filter as the operator reads it: `actor=ingress since=...` ("" for no filter)."""
    parts = [
        f"{name}={value}"
        for name, value in (("actor", where.actor), ("error", where.error_type))
        if value is not None
    ]
    parts += [
        f"{name}={_when(value)}"
        for name, value in (("since", where.since), ("until", where.until))
        if value is not None
    ]
    return " ".join(parts)


def describe(where: LetterFilter) -> str:
    """What a filter selects, to follow a count: `matching actor=ingress`, or every letter."""
    text = filter_text(where)
    return f"matching {text}" if text else "(every letter: no filter)"


def filter_json(where: LetterFilter) -> dict[str, Any]:
    """The filter as JSON, with the same names as the command's options."""
    return {
        "actor": where.actor,
        "error": where.error_type,
        "since": None if where.since is None else where.since.isoformat(),
        "until": None if where.until is None else where.until.isoformat(),
    }


def _when(moment: datetime) -> str:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="seconds")


def letter_json(letter: DeadLetter) -> dict[str, Any]:
    """One letter for programs: the stable summary fields, then everything the letter holds."""
    return {
        "id": letter.id,
        "actor": letter.actor,
        "message_type": letter.message_type,
        "error_type": letter.error_type,
        "error": letter.error_message,
        "reason": letter.reason,
        "attempts": letter.attempts,
        "first_failed_at": letter.first_failed_at.isoformat(),
        "last_failed_at": letter.last_failed_at.isoformat(),
        "source": letter.source_id,
        "message": letter.original,
        "replayable": letter.original is not None,
    }


def letter_detail_json(letter: DeadLetter) -> dict[str, Any]:
    """`letter_json` plus the payload, traceback and where the failure happened."""
    return {
        **letter_json(letter),
        "payload": letter.payload,
        "traceback": letter.traceback,
        "host": letter.host,
        "pid": letter.pid,
        "version": letter.version,
    }


def _first_line(text: str, width: int = _ERROR_WIDTH) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 3] + "..."


def list_rows(letters: Sequence[DeadLetter]) -> list[list[str]]:
    """The cells of `alphap dlq list`, one row per letter, in LIST_COLUMNS order."""
    return [
        [
            letter.id,
            _when(letter.last_failed_at),
            letter.actor,
            letter.error_type or "-",
            str(letter.attempts),
            letter.source_id or "-",
            _first_line(letter.error_message) or "-",
        ]
        for letter in letters
    ]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    return [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
        for cells in (header, *rows)
    ]


def detail_lines(letter: DeadLetter) -> list[str]:
    """`alphap dlq show`: every field of one letter, labelled, then the document and traceback."""
    fields = [
        ("actor", letter.actor),
        ("message type", letter.message_type),
        ("error", f"{letter.error_type or '-'}: {letter.error_message or '-'}"),
        ("reason", letter.reason),
        ("attempts", str(letter.attempts)),
        ("first failed", _when(letter.first_failed_at)),
        ("last failed", _when(letter.last_failed_at)),
        ("source", letter.source_id or "-"),
        ("failed on", f"{letter.host} pid {letter.pid} version {letter.version or '-'}"),
        (
            "replayable",
            "yes" if letter.original is not None else "no (it keeps no original document)",
        ),
    ]
    width = max(len(label) for label, _ in fields)
    lines = [f"dead letter {letter.id}"]
    lines += [f"  {label.ljust(width)}  {value}" for label, value in fields]
    if letter.original is not None:
        lines += ["original document:", f"  {letter.original}"]
    if letter.payload:
        rendered = json.dumps(letter.payload, indent=2, sort_keys=True, default=str)
        lines += ["payload:", *(f"  {line}" for line in rendered.splitlines())]
    if letter.traceback.strip():
        lines += ["traceback:", *(f"  {line}" for line in letter.traceback.rstrip().splitlines())]
    return lines


def stats_lines(stats: DeadLetterStats) -> list[str]:
    """`alphap dlq stats`: the total and the span, then counts by actor and by error type."""
    if stats.total == 0:
        return ["no dead letters"]
    span = ""
    if stats.oldest is not None and stats.newest is not None:
        span = f", oldest {_when(stats.oldest)}, newest {_when(stats.newest)}"
    lines = [f"{stats.total} dead letter(s){span}"]
    for title, counts in (("by actor", stats.by_actor), ("by error type", stats.by_error_type)):
        ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        width = max((len(name or "-") for name in counts), default=0)
        lines.append(title)
        lines += [f"  {(name or '-').ljust(width)}  {n}" for name, n in ordered]
    return lines


@dataclass
class ReplayResult:
    """What `alphap dlq replay` did to each letter asked for (ids -> ingress entry ids)."""

    already: dict[str, str]
    missing: list[str]
    unreplayable: list[str]
    replayed: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {name: len(value) for name, value in vars(self).items()}

    def ok(self) -> bool:
        """True when every letter asked for is now on the stream (skipped ones are someone's)."""
        return not (self.missing or self.unreplayable or self.failed)

    def to_json(self, where: dict[str, Any] | None, selected: int) -> dict[str, Any]:
        return {
            "action": "replay",
            "filter": where,
            "selected": selected,
            "replayed": self.replayed,
            "already_replayed": self.already,
            "not_replayable": self.unreplayable,
            "failed": self.failed,
            "skipped": self.skipped,
            "missing": self.missing,
        }

    def lines(self) -> list[str]:
        """One line per letter: replayed, or why not."""
        return [
            *(f"replayed {i} as ingress entry {e}" for i, e in self.replayed.items()),
            *(f"{i}: already replayed as ingress entry {e}" for i, e in self.already.items()),
            *(f"{i}: cannot be replayed: it keeps no original document" for i in self.unreplayable),
            *(f"{i}: not replayed, the letter is kept: {err}" for i, err in self.failed.items()),
            *(f"{i}: skipped: gone or being replayed by someone else" for i in self.skipped),
            *(f"{i}: no such dead letter" for i in self.missing),
        ]
