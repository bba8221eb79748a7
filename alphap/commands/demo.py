"""`alphap demo`: the daemon on a fresh machine, fed a short scripted trading session.

With no URLs configured it runs on embedded PostgreSQL and Redis in the state
directory. It migrates, loads instruments into an empty master, upserts the
demo strategies, runs the real daemon (alphap.daemon.Daemon) in this process,
appends the script to its own ingress stream (`<prefix>-demo:ingress`), waits
until the consumer group has acknowledged all of it, stops the daemon
gracefully, and prints the demo portfolios and the malformed document's dead letter.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

import psycopg
import redis
from pydantic import SecretStr

from actors.ingress_batch import letter_id
from actors.stream import stream_key
from alphap import demo
from alphap.commands import portfolio
from alphap.daemon import Daemon
from alphap.errors import AlphapError
from alphap.logs import configure_logging
from alphap.output import say
from alphap.settings import Settings
from alphap.trading import trading_parts
from alphap.tree import TreeContext
from alphap.wiring import server_urls
from persistence import schema
from supervision.deadletters import DeadLetterRegistry


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the daemon on a scripted trading session (embedded servers by default)",
        description=(
            "Migrate, load instruments, start the daemon, feed it a short scripted session "
            "(fills in the paper and zerodha namespaces, ticks, a trading event and one "
            "malformed document), wait until all of it is acknowledged, stop gracefully and "
            "print the demo portfolios and the dead letter. Uses embedded servers unless "
            "ALPHAP_DATABASE_URL / ALPHAP_REDIS_URL are set, which it refuses without --force."
        ),
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="run against the configured servers (writes demo-* strategies and portfolios)",
    )
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the acknowledgements"
    )
    parser.add_argument("--verbose", action="store_true", help="show the daemon's INFO log")
    parser.set_defaults(handler=run_demo)


def _configured(settings: Settings) -> list[str]:
    named = (
        ("ALPHAP_DATABASE_URL", settings.database_url),
        ("ALPHAP_REDIS_URL", settings.redis_url),
    )
    return [name for name, value in named if value is not None]


def run_demo(settings: Settings, args: argparse.Namespace) -> int:
    configured = _configured(settings)
    prefix = f"{settings.redis_prefix}-demo"
    if configured and not args.force:
        raise AlphapError(
            f"{' and '.join(configured)} configured: the demo would write demo-* strategies, "
            f"portfolios and journal events into that deployment (Redis prefix {prefix}). "
            "Unset them to use embedded servers, or pass --force."
        )
    if not args.verbose:
        configure_logging("WARNING", settings.log_format)
    settings = settings.model_copy(
        update={
            "redis_prefix": prefix,
            "ingress_consumer": "demo",
            "snapshot_interval_seconds": 1.0,
        }
    )
    with server_urls(settings) as urls:
        settings = settings.model_copy(
            update={"database_url": SecretStr(urls.database), "redis_url": SecretStr(urls.redis)}
        )
        schema.upgrade(urls.database)
        say(f"schema at head {schema.head_revision()}")
        with psycopg.connect(urls.database) as conn:
            _, loaded = demo.load_demo_instruments(conn)
            say(loaded)
            equities, future = demo.pick_instruments(conn)
            demo.upsert_strategies(conn)
        try:
            documents = demo.script(equities, future)
        except ValueError as exc:
            raise AlphapError(str(exc)) from None
        feed = Feed(urls.redis, prefix, documents, args.timeout)
        status = Daemon(settings, trading_parts, on_ready=feed.start).run()
        if status != 0:
            return status
        if feed.error is not None:
            raise AlphapError(feed.error)
        _report(settings, feed)
    return 0


class Feed:
    """Appends the script once the daemon is ready, then stops it when all is acknowledged."""

    def __init__(self, redis_url: str, prefix: str, documents: list[str], timeout: float) -> None:
        self.redis_url = redis_url
        self.prefix = prefix
        self.documents = documents
        self.timeout = timeout
        self.entries: list[str] = []
        self.error: str | None = None

    def start(self, daemon: Daemon, _: TreeContext) -> None:
        thread = threading.Thread(target=self._run, args=(daemon,), name="demo-feed", daemon=True)
        thread.start()

    def _run(self, daemon: Daemon) -> None:
        client = redis.Redis.from_url(self.redis_url)
        try:
            self.entries = demo.append(client, self.prefix, self.documents)
            say(f"appended {len(self.entries)} documents to {stream_key(self.prefix)}")
            if not demo.wait_acknowledged(
                client, self.prefix, self.entries[-1], self.timeout, daemon.stopping
            ):
                if not daemon.stopping.is_set():
                    self.error = f"not all documents were acknowledged within {self.timeout:g} s"
                return
            say("all documents acknowledged; stopping the daemon")
        except redis.RedisError as exc:
            self.error = f"feeding the stream: {type(exc).__name__}: {exc}"
        finally:
            client.close()
            daemon.request_stop()

    def malformed_entry(self) -> str | None:
        for entry, document in zip(self.entries, self.documents, strict=False):
            if document == demo.MALFORMED:
                return entry
        return None


def _report(settings: Settings, feed: Feed) -> None:
    say("")
    for key in demo.PORTFOLIOS:
        portfolio.run_show(settings, argparse.Namespace(portfolio=key, json=False))
        say("")
    entry = feed.malformed_entry()
    if entry is not None:
        client = redis.Redis.from_url(feed.redis_url)
        try:
            letter = DeadLetterRegistry(client, feed.prefix).get(
                letter_id(stream_key(feed.prefix), entry)
            )
        finally:
            client.close()
        if letter is not None:
            say(f"dead letter {letter.id} (entry {entry}): {letter.error_type}: {letter.reason}")
    say("")
    say("explore further (same settings, with ALPHAP_REDIS_PREFIX=" + feed.prefix + "):")
    say("  alphap portfolio list")
    say("  alphap dlq list")
    say("  alphap run            # the daemon in the foreground; then alphap console")
