"""`alphap events prune`: retention of the event journal."""

from __future__ import annotations

import argparse
from datetime import timedelta
from typing import Any

from alphap.commands.arguments import positive_int
from alphap.errors import AlphapError
from alphap.output import say
from alphap.settings import Settings
from alphap.wiring import server_urls
from persistence import retention, schema
from persistence.errors import SchemaNotAtHeadError


def _age(text: str) -> timedelta:
    try:
        return retention.parse_age(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: Any) -> None:
    events = subparsers.add_parser("events", help="the event journal (trading_events)")
    events_sub = events.add_subparsers(dest="events_command", metavar="COMMAND", required=True)
    prune = events_sub.add_parser(
        "prune",
        help="delete events older than an age, in small batches",
        description=(
            "Delete trading_events whose event_timestamp is older than the given age, "
            "a batch per short transaction, so the journal's writer is never blocked."
        ),
    )
    prune.add_argument(
        "--older-than",
        type=_age,
        required=True,
        metavar="AGE",
        help="age like 90d, 12h or 2w (days, hours, weeks)",
    )
    prune.add_argument(
        "--batch-size",
        type=positive_int,
        default=retention.DEFAULT_BATCH_SIZE,
        help=f"rows per transaction (default {retention.DEFAULT_BATCH_SIZE})",
    )
    prune.add_argument("--dry-run", action="store_true", help="count only, delete nothing")
    prune.set_defaults(handler=run_prune)


def run_prune(settings: Settings, args: argparse.Namespace) -> int:
    with server_urls(settings, need_redis=False) as urls:
        try:
            schema.ensure_at_head(urls.database)
        except SchemaNotAtHeadError as exc:
            raise AlphapError(str(exc)) from None
        count = retention.prune_events(
            urls.database, args.older_than, batch_size=args.batch_size, dry_run=args.dry_run
        )
    say(f"{count} event(s) {'would be removed' if args.dry_run else 'removed'}")
    return 0
