"""The cost of spreading messages over many actor threads (the ingest's shape).

The same messages, each doing the same small piece of exact-decimal work, are
handled three ways in one run: inline on one thread (the limit: the work
alone), by one supervised actor (one thread, one mailbox), and by 1,000 keyed
actors, round-robin (one thread per key, as the portfolios run). Run:
`.venv/bin/python -m bench.actors.fanout [--messages N] [--keys K] [--runs R]`.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import threading
import time
from collections.abc import Callable, Hashable
from decimal import Decimal
from typing import Any

from supervision import ChildSpec, KeyedSupervisor, RuntimeConfig, SupervisedActor, Supervisor

_PRICE = Decimal("101.25")
_WAIT_SECONDS = 600.0


def work(message: int) -> Decimal:
    """About as much exact arithmetic as applying one fill."""
    total = Decimal(0)
    for step in range(48):
        total += _PRICE * (message % 7 + step)
    return total


class _Done:
    """Counts handled messages; set once all have been."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.counter = itertools.count(1)
        self.finished = threading.Event()

    def handled(self) -> None:
        if next(self.counter) == self.total:
            self.finished.set()


class _Worker(SupervisedActor):
    def __init__(self, done: _Done) -> None:
        self.done = done

    def handle(self, message: Any) -> Any:
        if isinstance(message, int):
            work(message)
            self.done.handled()
        return None


def inline(messages: int, keys: int) -> float:
    """The work alone, on one thread: messages per second."""
    del keys
    started = time.perf_counter()
    for message in range(messages):
        work(message)
    return messages / (time.perf_counter() - started)


def one_actor(messages: int, keys: int) -> float:
    """One supervised actor handles every message."""
    del keys
    done = _Done(messages)
    spec = ChildSpec("worker", lambda: _Worker(done), mailbox_size=messages + 1)
    root = Supervisor("bench", [spec], config=RuntimeConfig())
    root.start()
    try:
        ref = root.ref("worker")
        started = time.perf_counter()
        for message in range(messages):
            ref.tell(message)
        if not done.finished.wait(_WAIT_SECONDS):
            raise RuntimeError("the actor did not finish")
        return messages / (time.perf_counter() - started)
    finally:
        root.stop()


def keyed_actors(messages: int, keys: int) -> float:
    """`keys` keyed actors, already started, take the messages round-robin."""
    done = _Done(messages)

    def build(_: Hashable) -> SupervisedActor:
        return _Worker(done)

    keyed = KeyedSupervisor(
        "bench", build, idle_after=None, mailbox_size=messages, config=RuntimeConfig()
    ).start()
    try:
        for key in range(keys):
            keyed.ask(key, "start", timeout=_WAIT_SECONDS)
        started = time.perf_counter()
        for message in range(messages):
            keyed.tell(message % keys, message)
        if not done.finished.wait(_WAIT_SECONDS):
            raise RuntimeError("the keyed actors did not finish")
        return messages / (time.perf_counter() - started)
    finally:
        keyed.stop()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.actors.fanout")
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    variants: dict[str, Callable[[int, int], float]] = {
        "inline, one thread (limit: the work alone)": inline,
        "one supervised actor": one_actor,
        f"{args.keys:,} keyed actors, round-robin (the portfolios' shape)": keyed_actors,
    }
    rates: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.runs):
        for name, variant in variants.items():
            rates[name].append(variant(args.messages, args.keys))
    limit = statistics.median(rates[next(iter(variants))])
    print(f"{args.messages:,} messages, medians of {args.runs} runs, alternating\n")
    print("| variant | messages/s | vs the limit |")
    print("|---|---:|---:|")
    for name, values in rates.items():
        rate = statistics.median(values)
        print(f"| {name} | {rate:,.0f} | {rate / limit:.2f}x |")


if __name__ == "__main__":
    main()
