"""`alphap run`: the daemon in the foreground, started and stopped in ARCHITECTURE.md's order.

Start: settings -> logging (alphap.cli) -> server URLs -> database pool, refusing
a schema not at head unless asked to migrate -> Redis -> dead letters -> the
supervision tree (journal, session, instruments, portfolios, snapshots,
ingress) -> READY=1. Stop (first SIGTERM/SIGINT): STOPPING=1 -> the ingress
stops reading -> the tree drains in reverse order (final snapshots, journal
flush) -> dead letters -> pool closed -> exit 0. A second signal ends the
process at once: nothing acknowledged can be lost, since entries are
acknowledged only once durable. A root escalation exits with status 1.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pykka
import redis
import structlog

from alphap import __version__
from alphap.database import database_pool
from alphap.errors import AlphapError
from alphap.settings import Settings
from alphap.systemd import Notifier
from alphap.tree import TradingFactory, TreeContext, build_root
from alphap.wiring import server_urls
from persistence import retention, schema
from persistence.errors import SchemaNotAtHeadError
from supervision import Supervisor
from supervision.deadletters import (
    DeadLetterActor,
    DeadLetterRegistry,
    DeadLetterStore,
    SpillFile,
    dead_letter_client,
)
from supervision.errors import Escalated
from supervision.redaction import DEFAULT_REDACTOR

log = structlog.get_logger("alphap.daemon")

EXIT_ESCALATED = 1
EXIT_SECOND_SIGNAL = 130
WAIT_STEP_SECONDS = 1.0
HEALTH_DEADLINE_SECONDS = 2.0
SPILL_FILE = "deadletters.spill"


class PeriodicTask:
    """Runs `work` every `interval` seconds in a timer thread; the next run is set up first."""

    def __init__(self, name: str, interval: float, work: Callable[[], Any]) -> None:
        self.name = name
        self.interval = interval
        self.work = work
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def start(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._timer = threading.Timer(self.interval, self._run)
            self._timer.name = self.name
            self._timer.daemon = True
            self._timer.start()

    def _run(self) -> None:
        self._schedule()
        try:
            self.work()
        # Anything: the next run is already scheduled, and the daemon must live on.
        except Exception:
            log.exception("periodic_task_failed", task=self.name)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            timer = self._timer
        if timer is not None:
            timer.cancel()


class Daemon:
    """One run of the daemon; `run()` returns the process's exit status."""

    def __init__(
        self,
        settings: Settings,
        trading: TradingFactory,
        *,
        migrate: bool = False,
    ) -> None:
        self.settings = settings
        self.trading = trading
        self.migrate = migrate
        self.stop_requested = threading.Event()
        self.escalated = threading.Event()
        self.stopping = threading.Event()
        self.signals = 0
        self.notifier = Notifier()

    # Signals and escalation

    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        self.signals += 1
        name = signal.Signals(signum).name
        if self.signals > 1:
            log.critical("daemon_stopping_now", signal=name)
            os._exit(EXIT_SECOND_SIGNAL)
        log.info("daemon_stop_requested", signal=name)
        self.stopping.set()
        self.stop_requested.set()

    def _on_escalation(self, error: Escalated) -> None:
        log.critical("daemon_root_escalated", error=str(error))
        self.escalated.set()
        self.stopping.set()
        self.stop_requested.set()

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    # The run

    def run(self) -> int:
        self.install_signals()
        settings = self.settings
        log.info("daemon_starting", version=__version__, pid=os.getpid())
        with server_urls(settings) as urls:
            self._prepare_schema(urls.database)
            with database_pool(settings, urls.database) as pool:
                _check_redis(urls.redis)
                letters_ref = start_dead_letters(settings, urls.redis)
                try:
                    return self._run_tree(
                        TreeContext(
                            settings=settings,
                            pool=pool,
                            redis_url=urls.redis,
                            letters=letters_ref,
                            stopping=self.stopping,
                            on_escalation=self._on_escalation,
                            version=__version__,
                        ),
                        urls.database,
                    )
                finally:
                    _stop_quietly(letters_ref)

    def _prepare_schema(self, conninfo: str) -> None:
        if self.migrate:
            schema.upgrade(conninfo)
            log.info("schema_migrated", revision=schema.head_revision())
        try:
            schema.ensure_at_head(conninfo)
        except SchemaNotAtHeadError as exc:
            raise AlphapError(f"{exc} (or start with alphap run --migrate)") from None

    def _run_tree(self, context: TreeContext, conninfo: str) -> int:
        settings = self.settings
        root = build_root(context, self.trading)
        started = time.monotonic()
        root.start()
        pruner = PeriodicTask(
            "events-retention",
            settings.events_prune_interval_seconds,
            lambda: retention.prune_events(
                conninfo, retention.parse_age(settings.events_retention)
            ),
        )
        pruner.start()
        log.info("daemon_ready", seconds=round(time.monotonic() - started, 3))
        self.notifier.ready("running")
        try:
            self._wait(root)
        finally:
            pruner.stop()
            self._stop_tree(root)
        if self.escalated.is_set():
            log.critical("daemon_exit", status=EXIT_ESCALATED, reason="root supervisor escalated")
            return EXIT_ESCALATED
        log.info("daemon_stopped", status=0)
        return 0

    def _wait(self, root: Supervisor) -> None:
        while not self.stop_requested.wait(WAIT_STEP_SECONDS):
            if root.healthy(HEALTH_DEADLINE_SECONDS):
                self.notifier.watchdog()

    def _stop_tree(self, root: Supervisor) -> None:
        self.notifier.stopping("stopping")
        self.stopping.set()
        started = time.monotonic()
        log.info("daemon_stopping")
        root.stop(self.settings.shutdown_timeout_seconds)
        log.info("daemon_tree_stopped", seconds=round(time.monotonic() - started, 3))


def _check_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=2.0, socket_timeout=2.0)
    try:
        client.ping()
    except redis.RedisError as exc:
        # Not fatal: dead letters spill to disk and the ingress retries until Redis is back.
        log.warning("redis_unreachable_at_start", error=type(exc).__name__)
    finally:
        client.close()


def start_dead_letters(settings: Settings, url: str) -> pykka.ActorRef[DeadLetterActor]:
    state_dir = Path(settings.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    registry = DeadLetterRegistry(
        dead_letter_client(url), settings.redis_prefix, redactor=DEFAULT_REDACTOR
    )
    store = DeadLetterStore(registry, SpillFile(state_dir / SPILL_FILE))
    return DeadLetterActor.start(store)


def _stop_quietly(ref: pykka.ActorRef[Any]) -> None:
    try:
        ref.stop(block=True, timeout=10.0)
    except (pykka.ActorDeadError, pykka.Timeout):
        log.warning("dead_letters_stop_incomplete")


def run_daemon(settings: Settings, trading: TradingFactory, *, migrate: bool = False) -> int:
    """Run the daemon until a signal or an escalation; the exit status."""
    return Daemon(settings, trading, migrate=migrate).run()
