"""The faults the campaign injects, each one a function of the rig that heals what it broke.

Faults are injected one at a time: each returns only once the servers and the
link are back (the daemon is then expected to recover on its own).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from alphap.embedded import EmbeddedPostgres, EmbeddedRedis
from bench.chaos.daemon import DaemonProcess
from bench.chaos.load import Load
from bench.chaos.proxy import Proxy

APPLICATION_NAME = "alphap-chaos"
BURST_FACTOR = 10.0


class FaultError(Exception):
    """The daemon did not take a fault as promised (for example a SIGTERM exit not 0)."""


@dataclass
class Rig:
    """Everything a fault acts on, and how long outages last."""

    daemon: DaemonProcess
    postgres: EmbeddedPostgres
    redis: EmbeddedRedis
    pg_proxy: Proxy
    redis_proxy: Proxy
    load: Load
    pg_outage: tuple[float, float]
    outage: tuple[float, float]
    burst: tuple[float, float]
    stop_timeout: float
    injected_letters: int = 0


Fault = Callable[[Rig, random.Random], str]


def _seconds(rng: random.Random, bounds: tuple[float, float]) -> float:
    return round(rng.uniform(*bounds), 1)


def sigkill(rig: Rig, _: random.Random) -> str:
    rig.daemon.signal(signal.SIGKILL)
    rig.daemon.wait(30)
    rig.daemon.start()
    return "killed and restarted"


def sigterm(rig: Rig, _: random.Random) -> str:
    rig.daemon.signal(signal.SIGTERM)
    started = time.monotonic()
    try:
        status = rig.daemon.wait(rig.stop_timeout)
    except subprocess.TimeoutExpired:
        rig.daemon.signal(signal.SIGKILL)
        rig.daemon.wait(30)
        rig.daemon.start()
        raise FaultError(f"no exit {rig.stop_timeout:g} s after SIGTERM") from None
    took = time.monotonic() - started
    rig.daemon.start()
    if status != 0:
        raise FaultError(f"SIGTERM exit status {status}")
    return f"stopped in {took:.1f} s, restarted"


def pg_stop(rig: Rig, rng: random.Random) -> str:
    seconds = _seconds(rng, rig.pg_outage)
    rig.postgres.stop("fast")
    time.sleep(seconds)
    rig.postgres.start()
    return f"down {seconds} s"


def pg_terminate(rig: Rig, _: random.Random) -> str:
    with psycopg.connect(rig.postgres.url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (APPLICATION_NAME,),
        ).fetchall()
    return f"{sum(1 for (done,) in rows if done)} backends"


def redis_stop(rig: Rig, rng: random.Random) -> str:
    seconds = _seconds(rng, rig.outage)
    # The producer waits while Redis is down, as a real one would retry.
    with rig.load.hold:
        rig.redis.stop()
        time.sleep(seconds)
        rig.redis.start()
    return f"down {seconds} s"


def _link(proxy_of: Callable[[Rig], Proxy], action: str) -> Fault:
    def fault(rig: Rig, rng: random.Random) -> str:
        seconds = _seconds(rng, rig.outage)
        proxy = proxy_of(rig)
        getattr(proxy, action)()
        time.sleep(seconds)
        proxy.heal()
        return f"{seconds} s"

    return fault


def burst(rig: Rig, rng: random.Random) -> str:
    seconds = _seconds(rng, rig.burst)
    rig.load.multiplier = BURST_FACTOR
    time.sleep(seconds)
    rig.load.multiplier = 1.0
    return f"{BURST_FACTOR:g}x for {seconds} s"


CONSOLE_TARGETS = ("journal", "ingress", "snapshots")


def _console(effect: str) -> Fault:
    """`alphap console fault NAME raise|hang`: the next message fails every attempt, or hangs."""

    def fault(rig: Rig, rng: random.Random) -> str:
        actor = rng.choice(CONSOLE_TARGETS)
        seconds = _seconds(rng, rig.outage)
        command = [sys.executable, "-m", "alphap", "console", "fault", actor, effect]
        command += ["--messages", "1", "--seconds", str(seconds)]
        result = subprocess.run(
            command, env=rig.daemon.env, capture_output=True, text=True, timeout=30, check=False
        )
        if result.returncode != 0:
            output = (result.stderr or result.stdout).strip()[-300:]
            raise FaultError(f"console fault {actor} {effect}: {output}")
        if effect == "raise":
            rig.injected_letters += 1
        return actor if effect == "raise" else f"{actor} {seconds} s"

    return fault


FAULTS: dict[str, Fault] = {
    "sigkill": sigkill,
    "sigterm": sigterm,
    "pg_stop": pg_stop,
    "pg_terminate": pg_terminate,
    "redis_stop": redis_stop,
    "pg_cut": _link(lambda rig: rig.pg_proxy, "cut"),
    "pg_stall": _link(lambda rig: rig.pg_proxy, "stall"),
    "redis_cut": _link(lambda rig: rig.redis_proxy, "cut"),
    "redis_stall": _link(lambda rig: rig.redis_proxy, "stall"),
    "burst": burst,
}
CONSOLE_FAULTS: dict[str, Fault] = {
    "actor_crash": _console("raise"),
    "actor_hang": _console("hang"),
}
