"""One `alphap demo` session: run the daemon, feed it, watch it, summarise, then stop it.

The daemon (alphap.daemon.Daemon) runs on the main thread as `alphap run` does;
once it is ready a feeder thread appends the simulated session to its ingress
stream at the asked rate, injects one actor crash part-way (a portfolio raises
once on a fill: the supervisor restarts it and the new incarnation applies the
fill, exactly once), waits until the consumer group has acknowledged every
document, prints the summary while the daemon still runs, and stops it.

Ctrl-C: the first ends the feeding early and goes on to the summary and a
graceful stop (exit 0); the second ends the process at once (exit 130, as
`alphap run`), losing nothing acknowledged.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import redis

from actors.messages import ApplyFill
from actors.stream import GROUP, stream_key
from alphap.daemon import Daemon
from alphap.demo import DemoPortfolio
from alphap.demo_session import SessionScript, Tally
from alphap.demo_summary import Summary, print_summary
from alphap.demo_view import LiveView, Progress
from alphap.output import say
from alphap.settings import Settings
from alphap.trading import trading_parts
from alphap.tree import TreeContext
from supervision import Supervisor
from supervision.deadletters import DeadLetterRegistry
from supervision.deadletters.models import LetterFilter
from supervision.faults import Effect, FaultPlan

CRASH_AT = 0.4
"""How far into the planned session the crash is injected."""
FEED_STEP_SECONDS = 0.1


@dataclass(frozen=True)
class DemoConfig:
    """What one session is asked to do, and where."""

    database_url: str
    redis_url: str
    duration: float
    rate: float
    timeout: float
    tty: bool
    seed: int
    console_socket: str


def is_fill(message: Any) -> bool:
    return isinstance(message, ApplyFill)


def append(client: redis.Redis, prefix: str, documents: list[str]) -> list[str]:
    """XADD each document to `<prefix>:ingress`; the entry ids in order."""
    pipe = client.pipeline(transaction=False)
    for document in documents:
        pipe.xadd(stream_key(prefix), {"data": document})
    return [i.decode() if isinstance(i, bytes) else str(i) for i in pipe.execute()]


def _entry(entry_id: str) -> tuple[int, int]:
    millis, _, seq = entry_id.partition("-")
    return int(millis), int(seq or 0)


def acknowledged(client: redis.Redis, prefix: str, last_entry: str) -> bool:
    """True once the consumer group delivered up to `last_entry` and nothing is pending."""
    try:
        groups = client.xinfo_groups(stream_key(prefix))
    except redis.ResponseError:
        return False
    for group in groups:
        name = group["name"]
        if (name.decode() if isinstance(name, bytes) else name) != GROUP:
            continue
        delivered = group["last-delivered-id"]
        delivered = delivered.decode() if isinstance(delivered, bytes) else str(delivered)
        return int(group["pending"]) == 0 and _entry(delivered) >= _entry(last_entry)
    return False


class DemoRun:
    """The daemon and the feeder thread of one session; `run()` returns the exit status."""

    def __init__(self, settings: Settings, config: DemoConfig, books: list[DemoPortfolio]) -> None:
        self.settings = settings
        self.config = config
        self.books = books
        self.prefix = settings.redis_prefix
        self.daemon = Daemon(
            settings, trading_parts, on_ready=self._ready, on_interrupt=self._interrupt
        )
        self.interrupted = threading.Event()
        self.feeding = False
        self.tally = Tally()
        self.entries: list[str] = []
        self.error: str | None = None
        self.started_at = datetime.now(UTC)
        self.fed_seconds = 0.0

    def run(self) -> int:
        status = self.daemon.run()
        if status != 0:
            return status
        if self.error is not None:
            say(f"demo failed: {self.error}")
            return 1
        return 0

    # Hooks called by the daemon on the main thread

    def _interrupt(self) -> None:
        self.interrupted.set()
        if not self.feeding:
            self.daemon.request_stop()

    def _ready(self, daemon: Daemon, _: TreeContext, root: Supervisor) -> None:
        plan = root.faults
        if plan is None:
            plan = FaultPlan(self.config.seed)
            root.install_faults(plan)
        self.feeding = True
        if self.interrupted.is_set():
            daemon.request_stop()
            return
        threading.Thread(
            target=self._session, args=(root, plan), name="demo-feed", daemon=True
        ).start()

    # The feeder thread

    def _session(self, root: Supervisor, plan: FaultPlan) -> None:
        client = redis.Redis.from_url(self.config.redis_url)
        letters = DeadLetterRegistry(client, self.prefix)
        view = LiveView(root, self.books, tty=self.config.tty)
        view.hints = [
            f"second terminal: alphap console   (socket {self.config.console_socket}; "
            "admin commands on)",
            f"the crash: {self.books[0].key} raises once on a fill "
            f"{CRASH_AT:.0%} of the way in; its supervisor restarts it",
        ]
        if not self.config.tty:
            for hint in view.hints:
                say(hint)
        try:
            self._feed(client, letters, view, plan)
            if self._drain(client, letters, view) and not self.daemon.stopping.is_set():
                self._summarise(root, letters)
        except (redis.RedisError, psycopg.Error) as exc:
            self.error = f"{type(exc).__name__}: {exc}"
        finally:
            client.close()
            self.daemon.request_stop()

    def _progress(self, phase: str, letters: DeadLetterRegistry) -> Progress:
        return Progress(
            phase=phase,
            elapsed=self.fed_seconds,
            duration=self.config.duration,
            rate=self.config.rate,
            tally=self.tally,
            letters=letters.count(LetterFilter(since=self.started_at)),
        )

    def _feed(
        self, client: redis.Redis, letters: DeadLetterRegistry, view: LiveView, plan: FaultPlan
    ) -> None:
        config = self.config
        planned = max(1, round(config.rate * config.duration))
        script = SessionScript(self.books, planned, config.seed)
        crash_at = int(planned * CRASH_AT)
        crashed = False
        start = time.monotonic()
        while not self.interrupted.is_set() and not self.daemon.stopping.is_set():
            self.fed_seconds = time.monotonic() - start
            if self.fed_seconds >= config.duration:
                break
            due = min(planned, int(config.rate * self.fed_seconds) + 1) - self.tally.fed
            documents = [script.next() for _ in range(max(0, due))]
            if documents:
                self.entries += append(client, self.prefix, [d.text for d in documents])
                for document in documents:
                    self.tally.add(document)
            if not crashed and self.tally.fed >= crash_at:
                plan.add("portfolios", Effect.RAISE, key=self.books[0].key, when=is_fill, times=1)
                crashed = True
            if view.due():
                view.show(self._progress("feeding", letters))
            self.interrupted.wait(FEED_STEP_SECONDS)

    def _drain(self, client: redis.Redis, letters: DeadLetterRegistry, view: LiveView) -> bool:
        """Wait until everything fed is acknowledged; False on timeout or a stopping daemon."""
        if not self.entries:
            return True
        deadline = time.monotonic() + self.config.timeout
        while not acknowledged(client, self.prefix, self.entries[-1]):
            if time.monotonic() > deadline:
                self.error = f"not all documents were acknowledged within {self.config.timeout:g} s"
                return False
            if view.due():
                view.show(self._progress("draining", letters))
            if self.daemon.stopping.wait(FEED_STEP_SECONDS):
                return False
        return True

    def _summarise(self, root: Supervisor, letters: DeadLetterRegistry) -> None:
        with psycopg.connect(self.config.database_url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM trading_events WHERE event_id = ANY(%s::uuid[])",
                (self.tally.event_ids,),
            ).fetchone()
        found = LetterFilter(since=self.started_at)
        print_summary(
            Summary(
                seconds=self.fed_seconds,
                tally=self.tally,
                journaled=int(row[0]) if row else 0,
                letters=list(letters.list(found, limit=50)),
                letter_count=letters.count(found),
                prefix=self.prefix,
                books=self.books,
            ),
            root,
        )
