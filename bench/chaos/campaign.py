"""One campaign: servers, proxies, daemon and load up; faults on a seeded schedule; checks."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import psycopg
import redis

from alphap.embedded import EmbeddedPostgres, EmbeddedRedis
from bench.chaos.daemon import DaemonProcess
from bench.chaos.faults import (
    APPLICATION_NAME,
    CONSOLE_FAULTS,
    FAULTS,
    Fault,
    FaultError,
    Rig,
)
from bench.chaos.load import PAPER_ONLY, STRATEGY, Load
from bench.chaos.proxy import Proxy
from bench.chaos.verify import Verdict, acknowledged_through, group_backlog, last_entry, verify

PREFIX = "chaos"
READY_TIMEOUT = 90.0
STOP_TIMEOUT = 90.0
SPILL_FILE = "deadletters.spill"
MARK_DELAY_SECONDS = 1.0


@dataclass(frozen=True)
class Options:
    """How long, how hard and how the faults are drawn."""

    minutes: float
    seed: int
    rate: float
    portfolios: int
    short: bool
    workdir: Path
    rss_limit_mib: int
    recovery_timeout: float
    only: frozenset[str] = frozenset()


@dataclass
class FaultRecord:
    """One kind of fault: how often injected, how often the daemon came back, how fast."""

    injected: int = 0
    survived: int = 0
    worst_recovery: float = 0.0
    failures: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    """What the campaign saw, for the report."""

    options: Options
    faults: dict[str, FaultRecord]
    console: bool
    appended: int = 0
    load_seconds: float = 0.0
    drain_seconds: float = 0.0
    final_stop_ok: bool = False
    final_stop_detail: str = ""
    verdict: Verdict = field(default_factory=Verdict)
    unexpected_exits: list[str] = field(default_factory=list)
    rss_peak_mib: float = 0.0
    rss_last_mib: float = 0.0
    starts: int = 0

    @property
    def passed(self) -> bool:
        return (
            self.verdict.lost == 0
            and self.verdict.events_duplicated == 0
            and self.verdict.mismatched == 0
            and not self.unexpected_exits
            and self.final_stop_ok
            and self.rss_peak_mib <= self.options.rss_limit_mib
            and all(not r.failures and r.survived == r.injected for r in self.faults.values())
        )


def _wait(condition: Callable[[], bool], timeout: float, step: float = 0.25) -> float | None:
    """Seconds until `condition` held, or None after `timeout`."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            return None
        time.sleep(step)
    return time.monotonic() - started


def console_available() -> bool:
    """Whether this checkout has `alphap console` (its `fault` command injects actor faults)."""
    result = subprocess.run(
        [sys.executable, "-m", "alphap", "console", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0


def _migrate(database_url: str, workdir: Path) -> None:
    env = {
        **os.environ,
        "ALPHAP_DATABASE_URL": database_url,
        "ALPHAP_REDIS_URL": "redis://127.0.0.1:1/0",
        "ALPHAP_STATE_DIR": str(workdir / "state"),
        "ALPHAP_ENV_FILE": str(workdir / "no.env"),
    }
    subprocess.run([sys.executable, "-m", "alphap", "migrate"], env=env, check=True)
    with psycopg.connect(database_url) as conn:
        conn.execute(
            "INSERT INTO strategy_configurations (strategy_id, zerodha_trading_enabled)"
            " VALUES (%s, true), (%s, false)",
            (STRATEGY, PAPER_ONLY),
        )


def daemon_env(options: Options, pg_proxy: Proxy, redis_proxy: Proxy) -> dict[str, str]:
    return {
        **os.environ,
        "ALPHAP_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{pg_proxy.port}/postgres",
        "ALPHAP_REDIS_URL": f"redis://127.0.0.1:{redis_proxy.port}/0",
        "ALPHAP_REDIS_PREFIX": PREFIX,
        "ALPHAP_STATE_DIR": str(options.workdir / "state"),
        "ALPHAP_ENV_FILE": str(options.workdir / "no.env"),
        "ALPHAP_INGRESS_CONSUMER": "chaos",
        "ALPHAP_LOG_FORMAT": "json",
        "ALPHAP_DB_APPLICATION_NAME": APPLICATION_NAME,
        "ALPHAP_DB_CONNECT_TIMEOUT": "5",
        "ALPHAP_SNAPSHOT_INTERVAL_SECONDS": "2",
        "ALPHAP_PORTFOLIO_IDLE_SECONDS": "30",
        "ALPHAP_SHUTDOWN_TIMEOUT_SECONDS": "60",
        "ALPHAP_CONSOLE_ADMIN": "true",
    }


def schedule(kinds: list[str], rng: random.Random) -> Callable[[], str]:
    """Every kind once in a seeded order, then (long runs) seeded draws."""
    first = list(kinds)
    rng.shuffle(first)

    def next_kind() -> str:
        return first.pop(0) if first else rng.choice(kinds)

    return next_kind


def run_campaign(options: Options) -> Outcome:
    workdir = options.workdir
    (workdir / "state").mkdir(parents=True, exist_ok=True)
    rng = random.Random(options.seed)
    console = console_available()
    faults: dict[str, Fault] = {**FAULTS, **(CONSOLE_FAULTS if console else {})}
    if options.only:
        faults = {kind: fault for kind, fault in faults.items() if kind in options.only}
    outcome = Outcome(options, {kind: FaultRecord() for kind in faults}, console)

    postgres = EmbeddedPostgres(workdir / "postgres")
    redis_server = EmbeddedRedis(workdir / "redis")
    postgres.start()
    redis_server.start()
    pg_proxy = Proxy("postgres", postgres.port or 0)
    redis_proxy = Proxy("redis", redis_server.port or 0)
    daemon: DaemonProcess | None = None
    load: Load | None = None
    try:
        _migrate(postgres.url, workdir)
        pg_proxy.start()
        redis_proxy.start()
        client = redis.Redis.from_url(redis_server.url, socket_timeout=10)
        started = time.monotonic()
        daemon = DaemonProcess(
            daemon_env(options, pg_proxy, redis_proxy), workdir / "daemon.log", started
        )
        daemon.start()
        if _wait(lambda: group_backlog(client, PREFIX) == 0, READY_TIMEOUT) is None:
            raise RuntimeError("the daemon never created its consumer group:\n" + daemon.log_tail())
        load = Load(
            redis_server.url,
            PREFIX,
            seed=options.seed,
            rate=options.rate,
            portfolios=options.portfolios,
        )
        load.start()
        rig = Rig(
            daemon=daemon,
            postgres=postgres,
            redis=redis_server,
            pg_proxy=pg_proxy,
            redis_proxy=redis_proxy,
            load=load,
            pg_outage=(3.0, 6.0) if options.short else (5.0, 30.0),
            outage=(2.0, 4.0) if options.short else (5.0, 20.0),
            burst=(2.0, 4.0) if options.short else (5.0, 10.0),
            stop_timeout=STOP_TIMEOUT,
        )
        _inject_until(options, rig, faults, outcome, rng=rng, client=client)
        _finish(options, rig, outcome, client, postgres.url)
        return outcome
    finally:
        if load is not None and not load.stopped:
            load.stop()
        if daemon is not None:
            daemon.close()
        pg_proxy.close()
        redis_proxy.close()
        redis_server.stop()
        postgres.stop()


def _inject_until(
    options: Options,
    rig: Rig,
    faults: dict[str, Fault],
    outcome: Outcome,
    *,
    rng: random.Random,
    client: redis.Redis,
) -> None:
    deadline = time.monotonic() + options.minutes * 60
    next_kind = schedule(list(faults), rng)
    gap = (2.0, 4.0) if options.short else (10.0, 40.0)
    count = 0

    def more() -> bool:
        return count < len(faults) if options.short else time.monotonic() < deadline

    time.sleep(rng.uniform(*gap))
    while more():
        kind = next_kind()
        count += 1
        record = outcome.faults[kind]
        record.injected += 1
        at = round(time.monotonic() - rig.daemon.started_at, 1)
        failed = False
        try:
            detail = faults[kind](rig, rng)
        except FaultError as exc:
            record.failures.append(f"{at} s: {exc}")
            detail, failed = str(exc), True
        # Recovered: what was appended until a moment after the fault was healed is
        # acknowledged (so a fault that held the producer back is not "recovered" at once).
        healed = time.monotonic()
        time.sleep(MARK_DELAY_SECONDS)
        mark = last_entry(client, PREFIX)
        waited = _wait(
            partial(acknowledged_through, client, PREFIX, mark), options.recovery_timeout
        )
        recovered = None if waited is None else round(time.monotonic() - healed, 1)
        if recovered is None:
            record.failures.append(f"{at} s: no recovery in {options.recovery_timeout:g} s")
        elif not failed:
            record.survived += 1
            record.worst_recovery = max(record.worst_recovery, recovered)
        print(f"[{at:7.1f} s] {kind:<12} {detail}; recovered after {recovered} s", flush=True)
        time.sleep(rng.uniform(*gap))


def _finish(
    options: Options, rig: Rig, outcome: Outcome, client: redis.Redis, database_url: str
) -> None:
    rig.pg_proxy.heal()
    rig.redis_proxy.heal()
    rig.load.stop()
    outcome.appended = rig.load.expected.appended
    outcome.load_seconds = rig.load.seconds
    spill = options.workdir / "state" / SPILL_FILE
    drained = _wait(
        lambda: group_backlog(client, PREFIX) == 0 and _spilled(spill) == 0,
        options.recovery_timeout * 2,
    )
    outcome.drain_seconds = drained if drained is not None else -1.0
    daemon = rig.daemon
    outcome.starts = daemon.starts
    if daemon.process is not None and daemon.process.poll() is None:
        daemon.signal(signal.SIGTERM)
        try:
            status = daemon.wait(STOP_TIMEOUT)
            outcome.final_stop_ok = status == 0
            outcome.final_stop_detail = f"exit status {status}"
        except subprocess.TimeoutExpired:
            outcome.final_stop_detail = f"no exit {STOP_TIMEOUT:g} s after SIGTERM"
    else:
        outcome.final_stop_detail = "not running at the end"
    if not outcome.final_stop_ok:
        outcome.final_stop_detail += "\n" + daemon.log_tail()
    outcome.unexpected_exits = [
        f"{e.at_seconds} s: status {e.status}\n{e.log_tail}" for e in daemon.unexpected
    ]
    peaks = [s.peak_kib for s in daemon.rss if s.samples]
    outcome.rss_peak_mib = round(max(peaks, default=0) / 1024, 1)
    last = [s for s in daemon.rss if s.samples]
    outcome.rss_last_mib = round(last[-1].samples[-1] / 1024, 1) if last else 0.0
    outcome.verdict = verify(
        rig.load.expected,
        database_url,
        client,
        PREFIX,
        spilled=_spilled(spill),
        injected_letters=rig.injected_letters,
    )


def _spilled(path: Path) -> int:
    try:
        with path.open("rb") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0
