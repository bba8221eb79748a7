"""`alphap dlq`: list, show, count, replay, purge and export the dead letters.

Talks to Redis directly (the configured URL, or the embedded server in the
state directory), so it works while the daemon is down. Replay puts a letter's
original document back on the ingress stream (actors.ingress_replay). Replay
and purge act on the letters selected and shown before the confirmation, and
on nothing that arrives afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
import structlog

from actors.ingress_replay import IngressRequeuer, replayable
from alphap import dead_letters as view
from alphap.commands.arguments import positive_int
from alphap.errors import AlphapError
from alphap.output import emit_json, emit_json_lines, note, say
from alphap.settings import Settings
from alphap.wiring import server_urls
from supervision.deadletters import DeadLetter, DeadLetterRegistry, LetterFilter, dead_letter_client
from supervision.redaction import DEFAULT_REDACTOR

log = structlog.get_logger(__name__)

DEFAULT_LIMIT = 50
# Letters named one by one in a preview; beyond this only the count is shown.
_SHOWN_IN_PREVIEW = 20


def _moment(text: str) -> datetime:
    try:
        return view.parse_moment(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--actor", metavar="A", help="only letters of this actor (e.g. ingress)")
    parser.add_argument(
        "--error", metavar="E", help="only letters of this error type (e.g. InvalidDocumentError)"
    )
    parser.add_argument(
        "--since",
        type=_moment,
        metavar="T",
        help="last failed at or after T: ISO-8601 with offset, or an age like 30m, 2h, 3d, 1w",
    )
    parser.add_argument(
        "--until", type=_moment, metavar="T", help="last failed before T (same forms as --since)"
    )


def _add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON")


def _add_bulk(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("ids", nargs="*", metavar="ID", help=f"letters to {verb}")
    parser.add_argument(
        "--all", action="store_true", help=f"{verb} every letter matching the filters"
    )
    _add_filters(parser)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    _add_json(parser)


def register(subparsers: Any) -> None:
    dlq = subparsers.add_parser(
        "dlq",
        help="dead letters: list, show, stats, replay, purge, export",
        description="The dead letters kept in Redis; works while the daemon is down.",
    )
    sub = dlq.add_subparsers(dest="dlq_command", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="one line per letter, newest first")
    _add_filters(listing)
    listing.add_argument(
        "--limit",
        type=positive_int,
        default=DEFAULT_LIMIT,
        help=f"at most N (default {DEFAULT_LIMIT})",
    )
    _add_json(listing)
    listing.set_defaults(handler=run_list)
    show = sub.add_parser("show", help="everything one letter holds")
    show.add_argument("id", metavar="ID")
    _add_json(show)
    show.set_defaults(handler=run_show)
    stats = sub.add_parser("stats", help="counts by actor and by error type")
    _add_json(stats)
    stats.set_defaults(handler=run_stats)
    replay = sub.add_parser(
        "replay",
        help="put letters' original documents back on the ingress stream",
        description=(
            "Put each letter's original document back on the ingress stream, then remove "
            "the letter (only once the stream took it; a letter is put once however often "
            "it is replayed). Letters without an original document cannot be replayed. "
            "Exit status 1 when any selected letter was not replayed."
        ),
    )
    _add_bulk(replay, "replay")
    replay.set_defaults(handler=run_replay)
    purge = sub.add_parser(
        "purge",
        help="delete letters",
        description="Delete the given letters, or exactly those matching the filters (--all).",
    )
    _add_bulk(purge, "purge")
    purge.set_defaults(handler=run_purge)
    export = sub.add_parser(
        "export",
        help="every matching letter as JSON lines on stdout, oldest first",
        description="Write each matching letter, as stored (redacted), as one JSON line.",
    )
    _add_filters(export)
    export.set_defaults(handler=run_export)


def _where(args: argparse.Namespace) -> LetterFilter:
    if args.since is not None and args.until is not None and args.since >= args.until:
        raise AlphapError("--since must be earlier than --until")
    return LetterFilter(actor=args.actor, error_type=args.error, since=args.since, until=args.until)


@contextlib.contextmanager
def _registry(settings: Settings) -> Iterator[tuple[DeadLetterRegistry, redis.Redis]]:
    """The registry over the configured (or embedded) Redis; Redis errors become AlphapError."""
    with server_urls(settings, need_database=False) as urls:
        client = dead_letter_client(urls.redis)
        try:
            yield (
                DeadLetterRegistry(client, settings.redis_prefix, redactor=DEFAULT_REDACTOR),
                client,
            )
        except redis.RedisError as exc:
            raise AlphapError(f"Redis failed: {type(exc).__name__}: {exc}") from None
        finally:
            client.close()


def run_list(settings: Settings, args: argparse.Namespace) -> int:
    where = _where(args)
    with _registry(settings) as (registry, _):
        letters = registry.list(where, limit=args.limit)
        total = registry.count(where) if len(letters) >= args.limit else len(letters)
    if args.json:
        emit_json([view.letter_json(letter) for letter in letters])
        return 0
    if not letters:
        say(f"no dead letters {view.describe(where)}")
        return 0
    for line in view.table(view.LIST_COLUMNS, view.list_rows(letters)):
        say(line)
    if total > len(letters):
        say(f"showing the newest {len(letters)} of {total} (see --limit)")
    return 0


def run_show(settings: Settings, args: argparse.Namespace) -> int:
    with _registry(settings) as (registry, client):
        letter = registry.get(args.id)
        earlier = (
            None if letter else IngressRequeuer(client, settings.redis_prefix).replayed_as(args.id)
        )
    if letter is None:
        hint = f" (it was replayed as ingress entry {earlier})" if earlier else ""
        raise AlphapError(f"no dead letter {args.id}{hint}")
    if args.json:
        emit_json(view.letter_detail_json(letter))
    else:
        for line in view.detail_lines(letter):
            say(line)
    return 0


def run_stats(settings: Settings, args: argparse.Namespace) -> int:
    with _registry(settings) as (registry, _):
        stats = registry.stats()
    if args.json:
        emit_json(stats.model_dump(mode="json"))
    else:
        for line in view.stats_lines(stats):
            say(line)
    return 0


def run_export(settings: Settings, args: argparse.Namespace) -> int:
    where = _where(args)
    with _registry(settings) as (registry, _):
        count = emit_json_lines(letter.model_dump(mode="json") for letter in registry.scan(where))
    note(f"exported {count} dead letter(s) {view.describe(where)}")
    return 0


@dataclass
class Selection:
    """The letters a replay or purge concerns, oldest first, as shown to the operator."""

    letters: list[DeadLetter]
    described: str
    where: LetterFilter | None = None
    missing: list[str] = field(default_factory=list)


def _check_selection(args: argparse.Namespace, verb: str) -> LetterFilter | None:
    """The filter of `--all` (None when ids are given); AlphapError for a contradictory ask."""
    filtered = any(getattr(args, name) is not None for name in ("actor", "error", "since", "until"))
    if args.all and args.ids:
        raise AlphapError(f"give letter ids or --all, not both: `alphap dlq {verb} --help`")
    if args.all:
        return _where(args)
    if filtered:
        raise AlphapError(f"filters select letters only with --all: `alphap dlq {verb} --all ...`")
    if not args.ids:
        raise AlphapError(f"give the ids of the letters to {verb}, or --all with filters")
    return None


def _select(registry: DeadLetterRegistry, args: argparse.Namespace, verb: str) -> Selection:
    where = _check_selection(args, verb)
    if where is not None:
        ids = list(reversed(registry.get_ids(where)))
        letters = [letter for letter in registry.get_many(ids) if letter is not None]
        return Selection(letters, view.describe(where), where)
    ids = list(dict.fromkeys(args.ids))
    found = registry.get_many(ids)
    letters = [letter for letter in found if letter is not None]
    missing = [letter_id for letter_id, letter in zip(ids, found, strict=True) if letter is None]
    letters.sort(key=lambda letter: letter.last_failed_at)
    return Selection(letters, "given by id", missing=missing)


def _confirm(args: argparse.Namespace, question: str) -> bool:
    """True to go ahead; --yes, or 'y' typed on a terminal. Without a terminal: refuse (exit 2)."""
    if args.yes:
        return True
    if not sys.stdin.isatty():
        raise AlphapError(
            f"refusing to {question} without confirmation: stdin is not a terminal; "
            "check the selection and add --yes"
        )
    sys.stderr.write(DEFAULT_REDACTOR.text(f"{question}? [y/N] "))
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def _tell(args: argparse.Namespace, text: str) -> None:
    """Progress for the operator: stdout normally, stderr when stdout carries JSON."""
    (note if args.json else say)(text)


def _preview(args: argparse.Namespace, headline: str, selection: Selection) -> None:
    """What a replay or purge is about to act on: the count, the filter, the first letters."""
    letters = selection.letters
    _tell(args, headline)
    rows = [
        [f"  {letter.id}", letter.actor, letter.error_type or "-"]
        for letter in letters[:_SHOWN_IN_PREVIEW]
    ]
    for line in view.table(("  id", "actor", "error_type"), rows):
        _tell(args, line)
    if len(letters) > _SHOWN_IN_PREVIEW:
        _tell(args, f"  ... and {len(letters) - _SHOWN_IN_PREVIEW} more")


def run_replay(settings: Settings, args: argparse.Namespace) -> int:
    _check_selection(args, "replay")
    with _registry(settings) as (registry, client):
        selection = _select(registry, args, "replay")
        requeuer = IngressRequeuer(client, settings.redis_prefix)
        earlier = {i: requeuer.replayed_as(i) for i in selection.missing}
        result = view.ReplayResult(
            already={i: e for i, e in earlier.items() if e is not None},
            missing=[i for i, e in earlier.items() if e is None],
            unreplayable=[letter.id for letter in selection.letters if not replayable(letter)],
        )
        todo = [letter for letter in selection.letters if replayable(letter)]
        if selection.letters:
            unable = len(result.unreplayable)
            caveat = f" ({unable} keep no original document and cannot be)" if unable else ""
            _preview(
                args,
                f"replay {len(selection.letters)} dead letter(s) {selection.described} "
                f"onto {requeuer.stream}{caveat}:",
                selection,
            )
        if todo and not _confirm(args, f"replay {len(todo)} dead letter(s)"):
            _tell(args, "nothing replayed")
            return 1
        if todo:
            report = registry.requeue_ids([letter.id for letter in todo], requeuer)
            result.replayed = {i: requeuer.entries[i] for i in report.requeued}
            result.failed = dict(report.failed)
            result.skipped = list(report.skipped)
            log.info("dead_letters_replayed", **result.counts())
    where = None if selection.where is None else view.filter_json(selection.where)
    if args.json:
        emit_json(result.to_json(where, len(selection.letters)))
    else:
        for line in result.lines():
            say(line)
        if not selection.letters and not selection.missing:
            say(f"no dead letters {selection.described}")
        else:
            asked = len(selection.letters) + len(selection.missing)
            say(f"replayed {len(result.replayed)} of {asked}")
    return 0 if result.ok() else 1


def run_purge(settings: Settings, args: argparse.Namespace) -> int:
    _check_selection(args, "purge")
    with _registry(settings) as (registry, _):
        selection = _select(registry, args, "purge")
        ids = [letter.id for letter in selection.letters]
        purged = 0
        if ids:
            _preview(args, f"purge {len(ids)} dead letter(s) {selection.described}:", selection)
            if not _confirm(args, f"purge {len(ids)} dead letter(s)"):
                _tell(args, "nothing purged")
                return 1
            purged = registry.purge_ids(ids)
            log.info("dead_letters_purged", selected=len(ids), removed=purged)
    if args.json:
        emit_json(
            {
                "action": "purge",
                "filter": None if selection.where is None else view.filter_json(selection.where),
                "selected": len(ids),
                "purged": purged,
                "ids": ids,
                "missing": selection.missing,
            }
        )
    else:
        for letter_id in selection.missing:
            say(f"{letter_id}: no such dead letter")
        if not ids and not selection.missing:
            say(f"no dead letters {selection.described}")
        else:
            gone = f" ({len(ids) - purged} were already gone)" if purged < len(ids) else ""
            say(f"purged {purged} dead letter(s){gone}")
    return 1 if selection.missing else 0
