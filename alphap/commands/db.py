"""`alphap migrate` and `alphap db check`: the schema under Alembic."""

from __future__ import annotations

import argparse
from typing import Any

from alphap.errors import AlphapError
from alphap.output import say
from alphap.settings import Settings
from alphap.wiring import server_urls
from persistence import schema
from persistence.errors import LegacySchemaError, SchemaNotAtHeadError
from persistence.legacy import TableAdoption


def register(subparsers: Any) -> None:
    migrate = subparsers.add_parser(
        "migrate",
        help="upgrade the database schema to head (adopting a legacy database)",
        description=(
            "Upgrade the database schema to head. A database the old system made "
            "(tables but no alembic_version) is adopted: see docs/MIGRATIONS.md."
        ),
    )
    migrate.add_argument(
        "--dry-run", action="store_true", help="say what would be done, change nothing"
    )
    migrate.set_defaults(handler=run_migrate)

    db = subparsers.add_parser("db", help="database schema commands")
    db_sub = db.add_subparsers(dest="db_command", metavar="COMMAND", required=True)
    check = db_sub.add_parser("check", help="exit non-zero unless the schema is at head")
    check.set_defaults(handler=run_check)


def _describe(adoptions: list[TableAdoption], verb: str) -> None:
    say(f"legacy schema found: {verb} {len(adoptions)} table(s)")
    for table in adoptions:
        say(
            f"  {table.table}: {table.rows} row(s), {table.kept} kept, "
            f"{table.moved} moved to legacy_duplicates"
        )
        for change in table.changes:
            say(f"    {change}")
    if any(t.table == "trading_sessions" and t.kept for t in adoptions):
        say(
            "  trading_sessions.session_data is kept as it was: its tokens are plaintext "
            "until `alphap keys rotate` encrypts them"
        )


def run_migrate(settings: Settings, args: argparse.Namespace) -> int:
    with server_urls(settings, need_redis=False) as urls:
        before = schema.current_revision(urls.database)
        head = schema.head_revision()
        try:
            adoptions = schema.legacy_adoption_plan(urls.database)
        except LegacySchemaError as exc:
            raise AlphapError(str(exc)) from None
        if args.dry_run:
            if adoptions:
                _describe(adoptions, "would adopt")
            pending = schema.pending_revisions(urls.database)
            say(
                f"schema at {before or 'nothing'}; would apply {', '.join(pending)}"
                if pending
                else f"schema already at head {head}; nothing to do"
            )
            return 0
        schema.upgrade(urls.database)
        if adoptions:
            _describe(adoptions, "adopted")
        say(f"schema upgraded from {before or 'nothing'} to {head}")
    return 0


def run_check(settings: Settings, _: argparse.Namespace) -> int:
    with server_urls(settings, need_redis=False) as urls:
        try:
            schema.ensure_at_head(urls.database)
        except SchemaNotAtHeadError as exc:
            raise AlphapError(str(exc)) from None
        say(f"schema at head {schema.head_revision()}")
    return 0
