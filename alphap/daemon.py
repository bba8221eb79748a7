"""`alphap run`: the daemon in the foreground, started and stopped in ARCHITECTURE.md's order.

Start: settings -> logging (alphap.cli) -> server URLs -> the database, waited
for up to ALPHAP_DB_STARTUP_TIMEOUT_SECONDS -> the schema, refused unless at
head (or migrated) -> pool -> Redis -> dead letters -> the supervision tree
(journal, session, instruments, portfolios, snapshots, ingress) -> READY=1.

While running, the main thread feeds systemd's watchdog only while the root
answers, refreshes STATUS= (alphap.status), and does the work the signal
handlers only flag: SIGUSR1 logs every thread's stack, SIGHUP reloads the log
level and the schedules (alphap.reload).

Stop (first SIGTERM/SIGINT): STOPPING=1 -> the ingress stops reading -> the
tree drains in reverse order (final snapshots, journal flush) -> dead letters
-> pool closed -> exit 0, all within ALPHAP_SHUTDOWN_TIMEOUT_SECONDS or the
process exits at once. A second signal ends the process at once: nothing
acknowledged can be lost, since entries are acknowledged only once durable.
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

from actors.instruments import ChangeRefreshTime
from actors.messages import ChangeSnapshotInterval
from actors.session import ChangeSweepInterval
from alphap import __version__
from alphap.console import start_console
from alphap.database import database_pool, wait_for_database
from alphap.errors import AlphapError, SettingsError
from alphap.kite import refresh_time
from alphap.logs import configure_logging
from alphap.reload import reread
from alphap.settings import Settings
from alphap.stacks import log_thread_stacks
from alphap.status import StatusProbe
from alphap.systemd import Notifier, watchdog_interval
from alphap.tree import LiveSettings, TradingFactory, TreeContext, build_root
from alphap.wiring import server_urls
from persistence import retention, schema
from persistence.errors import DatabaseUnavailableError, SchemaNotAtHeadError
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

# Exit statuses (deploy/README.md); 78 and 69 follow sysexits.h, so the unit can
# refuse to restart on a configuration error (RestartPreventExitStatus=78).
EXIT_ESCALATED = 1
EXIT_FAILED = 2
EXIT_UNAVAILABLE = 69
EXIT_STOP_TIMEOUT = 75
EXIT_CONFIG = 78
EXIT_SECOND_SIGNAL = 130

WAIT_STEP_SECONDS = 1.0
HEALTH_DEADLINE_SECONDS = 2.0
STATUS_REFRESH_SECONDS = 5.0
SPILL_FILE = "deadletters.spill"

ReadyHook = Callable[["Daemon", TreeContext, Supervisor], None]


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

    def reschedule(self, interval: float) -> None:
        """Run every `interval` seconds from now on (the pending run is replaced)."""
        with self._lock:
            self.interval = interval
            timer = self._timer
        if timer is not None:
            timer.cancel()
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


def _start_failed(status: int, reason: str, error: BaseException, notifier: Notifier) -> int:
    """The one critical line that says why the daemon did not start; its exit status."""
    detail = DEFAULT_REDACTOR.text(str(error))
    log.critical("daemon_start_failed", reason=reason, error=detail, status=status)
    notifier.status(f"failed: {reason}")
    return status


def settings_failed(error: SettingsError) -> int:
    """`alphap run` with invalid settings: log why (with default logging) and exit 78."""
    fmt = os.environ.get("ALPHAP_LOG_FORMAT", "auto").lower()
    configure_logging("INFO", fmt if fmt in ("auto", "json", "console") else "auto")
    return _start_failed(EXIT_CONFIG, "invalid settings", error, Notifier())


class Daemon:
    """One run of the daemon; `run()` returns the process's exit status.

    `on_ready`, when given, is called on the main thread once the tree runs
    (`alphap demo` starts its producer there); `request_stop()` ends the run.
    `on_interrupt`, when given, is called on the first SIGTERM/SIGINT instead of
    stopping: the embedder finishes its work, then calls `request_stop()`.
    """

    def __init__(
        self,
        settings: Settings,
        trading: TradingFactory,
        *,
        migrate: bool = False,
        on_ready: ReadyHook | None = None,
        on_interrupt: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.live = LiveSettings(settings)
        self.trading = trading
        self.migrate = migrate
        self.on_ready = on_ready
        self.on_interrupt = on_interrupt
        self.stop_requested = threading.Event()
        self.escalated = threading.Event()
        self.stopping = threading.Event()
        self.wakeup = threading.Event()
        self.dump_requested = threading.Event()
        self.reload_requested = threading.Event()
        self.signals = 0
        self.notifier = Notifier()
        self._pruner: PeriodicTask | None = None
        self._stop_deadline: threading.Timer | None = None

    # Signals and escalation: handlers only flag; the main loop does the work.

    def _on_signal(self, signum: int, _: FrameType | None) -> None:
        self.signals += 1
        name = signal.Signals(signum).name
        if self.signals > 1:
            log.critical("daemon_stopping_now", signal=name)
            os._exit(EXIT_SECOND_SIGNAL)
        log.info("daemon_stop_requested", signal=name)
        if self.on_interrupt is not None:
            self.on_interrupt()
        else:
            self.request_stop()

    def _on_dump(self, _signum: int, _: FrameType | None) -> None:
        self.dump_requested.set()
        self.wakeup.set()

    def _on_reload(self, _signum: int, _: FrameType | None) -> None:
        self.reload_requested.set()
        self.wakeup.set()

    def _on_escalation(self, error: Escalated) -> None:
        log.critical("daemon_root_escalated", error=str(error))
        self.escalated.set()
        self.request_stop()

    def request_stop(self) -> None:
        """Begin the graceful stop (any thread)."""
        self.stopping.set()
        self.stop_requested.set()
        self.wakeup.set()

    def install_signals(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGUSR1, self._on_dump)
        signal.signal(signal.SIGHUP, self._on_reload)

    # The run

    def run(self) -> int:
        self.install_signals()
        log.info("daemon_starting", version=__version__, pid=os.getpid())
        try:
            return self._run()
        except SchemaNotAtHeadError as exc:
            return _start_failed(EXIT_CONFIG, "schema not at head", exc, self.notifier)
        except DatabaseUnavailableError as exc:
            return _start_failed(EXIT_UNAVAILABLE, "database unreachable", exc, self.notifier)
        except AlphapError as exc:
            return _start_failed(EXIT_FAILED, "start-up failed", exc, self.notifier)
        finally:
            if self._stop_deadline is not None:
                self._stop_deadline.cancel()

    def _run(self) -> int:
        settings = self.settings
        self.notifier.status("starting: servers")
        with server_urls(settings) as urls:
            self.notifier.status("starting: waiting for the database")
            if not wait_for_database(
                urls.database,
                settings.db_startup_timeout_seconds,
                connect_timeout=settings.db_connect_timeout,
                cancel=self.stop_requested,
            ):
                log.info("daemon_stopped", status=0, during="start-up")
                return 0
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
                            live=self.live,
                        ),
                        urls.database,
                    )
                finally:
                    _stop_quietly(letters_ref)

    def _prepare_schema(self, conninfo: str) -> None:
        self.notifier.status("starting: schema")
        if self.migrate:
            schema.upgrade(conninfo)
            log.info("schema_migrated", revision=schema.head_revision())
        try:
            schema.ensure_at_head(conninfo)
        except SchemaNotAtHeadError as exc:
            raise SchemaNotAtHeadError(f"{exc} (or start with alphap run --migrate)") from None

    def _run_tree(self, context: TreeContext, conninfo: str) -> int:
        self.notifier.status("starting: actors")
        root = build_root(context, self.trading)
        started = time.monotonic()
        root.start()
        console = start_console(self.settings, root, context.redis_url)
        self._pruner = PeriodicTask(
            "events-retention",
            self.live.current.events_prune_interval_seconds,
            lambda: retention.prune_events(
                conninfo, retention.parse_age(self.live.current.events_retention)
            ),
        )
        self._pruner.start()
        probe = StatusProbe(root, context.pool, context.letters)
        try:
            healthy = root.healthy(HEALTH_DEADLINE_SECONDS)
            log.info("daemon_ready", seconds=round(time.monotonic() - started, 3))
            self.notifier.ready(probe.describe(healthy=healthy))
            if self.on_ready is not None:
                self.on_ready(self, context, root)
            self._wait(root, probe)
        finally:
            self._pruner.stop()
            console.stop()
            self._stop_tree(root)
        if self.escalated.is_set():
            log.critical("daemon_exit", status=EXIT_ESCALATED, reason="root supervisor escalated")
            return EXIT_ESCALATED
        log.info("daemon_stopped", status=0)
        return 0

    def _wait(self, root: Supervisor, probe: StatusProbe) -> None:
        last_status: str | None = None
        next_status = time.monotonic() + STATUS_REFRESH_SECONDS
        # systemd asks for a ping every WATCHDOG_USEC/2; without it, none is expected.
        ping_every = watchdog_interval()
        step = min(WAIT_STEP_SECONDS, ping_every) if ping_every else WAIT_STEP_SECONDS
        next_ping = 0.0
        while not self.stop_requested.is_set():
            self.wakeup.wait(step)
            self.wakeup.clear()
            if self.stop_requested.is_set():
                return
            if self.dump_requested.is_set():
                self.dump_requested.clear()
                log_thread_stacks()
            if self.reload_requested.is_set():
                self.reload_requested.clear()
                self._reload(root)
                next_status = 0.0
            healthy = root.healthy(HEALTH_DEADLINE_SECONDS)
            now = time.monotonic()
            if healthy and ping_every is not None and now >= next_ping:
                self.notifier.watchdog()
                next_ping = now + ping_every
            if time.monotonic() >= next_status:
                status = probe.describe(healthy=healthy)
                log.debug("daemon_status", status=status, healthy=healthy)
                if status != last_status:
                    self.notifier.status(status)
                    last_status = status
                next_status = time.monotonic() + STATUS_REFRESH_SECONDS

    def _reload(self, root: Supervisor) -> None:
        monotonic_usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self.notifier.notify(
            "RELOADING=1", f"MONOTONIC_USEC={monotonic_usec}", "STATUS=reloading settings"
        )
        outcome = reread(self.live.current)
        for name, problem in outcome.rejected.items():
            log.error("daemon_reload_rejected", setting=name, problem=problem)
        new = outcome.settings
        self.live.replace(new)
        changed = outcome.changed
        if "log_level" in changed:
            configure_logging(new.log_level, new.log_format)
        if self._pruner is not None and "events_prune_interval_seconds" in changed:
            self._pruner.reschedule(new.events_prune_interval_seconds)
        messages: list[tuple[str, Any]] = []
        if "snapshot_interval_seconds" in changed:
            messages.append(
                ("snapshots", ChangeSnapshotInterval(interval=new.snapshot_interval_seconds))
            )
        if "session_sweep_seconds" in changed:
            messages.append(
                ("session", ChangeSweepInterval(sweep_seconds=new.session_sweep_seconds))
            )
        if "instruments_refresh_at" in changed:
            messages.append(("instruments", ChangeRefreshTime(refresh_at=refresh_time(new))))
        for name, message in messages:
            try:
                root.ref(name).tell(message, timeout=HEALTH_DEADLINE_SECONDS)
            # Anything: a missing or busy actor gets the value at its next (re)start.
            except Exception as exc:
                log.warning("daemon_reload_not_delivered", actor=name, error=type(exc).__name__)
        log.info(
            "daemon_reloaded",
            changed={
                name: {"old": str(old), "new": str(value)} for name, (old, value) in changed.items()
            },
            rejected=sorted(outcome.rejected),
        )
        self.notifier.notify("READY=1")

    def _stop_tree(self, root: Supervisor) -> None:
        self.notifier.stopping("stopping: draining the actors")
        self.stopping.set()
        self._arm_stop_deadline()
        started = time.monotonic()
        log.info("daemon_stopping")
        root.stop(self.settings.shutdown_timeout_seconds)
        log.info("daemon_tree_stopped", seconds=round(time.monotonic() - started, 3))
        self.notifier.status("stopping: closing connections")

    def _arm_stop_deadline(self) -> None:
        bound = self.settings.shutdown_timeout_seconds

        def overrun() -> None:
            log.critical("daemon_stop_timeout", seconds=bound, status=EXIT_STOP_TIMEOUT)
            os._exit(EXIT_STOP_TIMEOUT)

        timer = threading.Timer(bound, overrun)
        timer.name = "stop-deadline"
        timer.daemon = True
        timer.start()
        self._stop_deadline = timer


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
