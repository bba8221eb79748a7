"""`alphap demo`: the daemon on a fresh machine, fed a simulated paper trading session.

With no URLs configured it runs on embedded PostgreSQL and Redis in the state
directory. It migrates, loads the generated instrument master into an empty
table, upserts the demo strategies and runs the real daemon in this process in
paper mode (Kite settings ignored), with its own ingress stream
(`<prefix>-demo:ingress`) and the console's admin commands on. alphap.demo_run
feeds, watches and summarises the session. The daemon's log goes to
`<state_dir>/demo.log` unless --verbose sends it to stderr.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from pydantic import SecretStr

from alphap import demo
from alphap.console import console_socket_path
from alphap.demo_run import DemoConfig, DemoRun
from alphap.errors import AlphapError
from alphap.logs import configure_logging
from alphap.output import say
from alphap.settings import Settings
from alphap.wiring import server_urls
from persistence import schema

LOG_FILE = "demo.log"


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the daemon on a simulated paper trading session (embedded servers by default)",
        description=(
            "Migrate, load a generated instrument master (NSE equities, NFO derivatives), start "
            "the daemon in paper mode (no Kite account needed) and feed it ticks, fills and "
            "trading events for a few portfolios at --rate documents per second for --duration "
            "seconds, with a few malformed documents (dead letters) and one injected actor "
            "crash (a supervised restart). Shows the actors and portfolio PnL live, then a "
            "summary. Attach `alphap console` from a second terminal while it runs. Ctrl-C "
            "stops early with the summary and exit status 0; a second Ctrl-C stops at once "
            "(130). Uses embedded servers unless ALPHAP_DATABASE_URL / ALPHAP_REDIS_URL are "
            "set, which it refuses without --force."
        ),
    )
    parser.add_argument(
        "--duration", type=_positive, default=30.0, help="seconds of session to feed (30)"
    )
    parser.add_argument(
        "--rate", type=_positive, default=20.0, help="documents fed per second (20)"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run against the configured servers (writes demo-* strategies and portfolios)",
    )
    parser.add_argument(
        "--timeout",
        type=_positive,
        default=60.0,
        help="seconds to wait, after feeding, until every document is acknowledged (60)",
    )
    parser.add_argument("--verbose", action="store_true", help="the daemon's log on stderr")
    parser.set_defaults(handler=run_demo)


def _configured(settings: Settings) -> list[str]:
    named = (
        ("ALPHAP_DATABASE_URL", settings.database_url),
        ("ALPHAP_REDIS_URL", settings.redis_url),
    )
    return [name for name, value in named if value is not None]


def demo_settings(settings: Settings) -> Settings:
    """The daemon's settings for the demo: paper mode, its own stream, the console's admin on."""
    return settings.model_copy(
        update={
            "redis_prefix": f"{settings.redis_prefix}-demo",
            "ingress_consumer": "demo",
            "snapshot_interval_seconds": 1.0,
            "kite_api_key": None,
            "kite_api_secret": None,
            "kite_access_token": None,
            "console_admin": True,
        }
    )


def _logging(settings: Settings, verbose: bool) -> None:
    if verbose:
        return
    path = Path(settings.state_dir) / LOG_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    # Left open for the life of the process: the daemon logs until its very end.
    log_file = path.open("a", encoding="utf-8")
    configure_logging(settings.log_level, "json", stream=log_file)
    say(f"the daemon's log: {path}")


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    configured = _configured(settings)
    settings = demo_settings(settings)
    if configured and not args.force:
        raise AlphapError(
            f"{' and '.join(configured)} configured: the demo would write demo-* strategies, "
            f"portfolios and journal events into that deployment (Redis prefix "
            f"{settings.redis_prefix}). Unset them to use embedded servers, or pass --force."
        )
    _logging(settings, args.verbose)
    today = date.today()
    where = "the configured servers" if configured else f"embedded servers in {settings.state_dir}"
    say(f"starting {where}")
    with server_urls(settings) as urls:
        settings = settings.model_copy(
            update={"database_url": SecretStr(urls.database), "redis_url": SecretStr(urls.redis)}
        )
        schema.upgrade(urls.database)
        say(f"schema at head {schema.head_revision()}")
        with psycopg.connect(urls.database) as conn:
            say(demo.load_master(conn, today))
            equities, futures = demo.pick_instruments(conn, today)
            try:
                books = demo.portfolios(equities, futures)
            except ValueError as exc:
                raise AlphapError(str(exc)) from None
            demo.upsert_strategies(conn, books)
        for book in books:
            say(f"  {book.key} trades {', '.join(i.symbol for i in book.instruments)}")
        config = DemoConfig(
            database_url=urls.database,
            redis_url=urls.redis,
            duration=args.duration,
            rate=args.rate,
            timeout=args.timeout,
            tty=sys.stdout.isatty(),
            seed=time.time_ns(),
            console_socket=str(console_socket_path(settings)),
        )
        say("starting the daemon in paper mode (no Kite account needed)")
        status = DemoRun(settings, config, books).run()
    say(f"demo finished, exit status {status}")
    return status
