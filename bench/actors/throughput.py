"""Tell throughput and ask latency of one actor, three ways.

Bare pykka is the baseline, the supervised runtime is alphap, and a thread
reading a `queue.SimpleQueue` is the limit of any thread-per-actor design.
"""

from __future__ import annotations

import queue
import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

import pykka

from supervision import ChildSpec, RuntimeConfig, SupervisedActor, Supervisor

Sender = Callable[[Any], None]
Asker = Callable[[Any], Any]


class _Counting(SupervisedActor):
    def __init__(self) -> None:
        self.count = 0

    def handle(self, message: Any) -> Any:
        self.count += 1
        return self.count


class _BarePykka(pykka.ThreadingActor):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def on_receive(self, message: Any) -> Any:
        self.count += 1
        return self.count


class _BareThread:
    """One thread, one SimpleQueue; asks carry a one-slot queue for the reply."""

    def __init__(self) -> None:
        self.inbox: queue.SimpleQueue[tuple[Any, queue.SimpleQueue[Any] | None]] = (
            queue.SimpleQueue()
        )
        self.count = 0
        self.thread = threading.Thread(target=self._run, name="bare-thread")
        self.thread.start()

    def _run(self) -> None:
        get = self.inbox.get
        while True:
            message, reply = get()
            if message is None:
                return
            self.count += 1
            if reply is not None:
                reply.put(self.count)

    def tell(self, message: Any) -> None:
        self.inbox.put((message, None))

    def ask(self, message: Any) -> Any:
        reply: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.inbox.put((message, reply))
        return reply.get(timeout=10)

    def stop(self) -> None:
        self.inbox.put((None, None))
        self.thread.join()


def _measure(tell: Sender, ask: Asker, messages: int, asks: int) -> dict[str, float]:
    ask(0)
    started = time.perf_counter()
    for n in range(messages):
        tell(n)
    ask(-1)
    elapsed = time.perf_counter() - started
    latencies = []
    for n in range(asks):
        t0 = time.perf_counter()
        ask(n)
        latencies.append(time.perf_counter() - t0)
    latencies.sort()
    return {
        "tell_per_s": messages / elapsed,
        "ask_p50_us": statistics.median(latencies) * 1e6,
        "ask_p99_us": latencies[int(len(latencies) * 0.99) - 1] * 1e6,
    }


def supervised(messages: int, asks: int) -> dict[str, float]:
    """Through Supervisor / ActorHandle (mailbox large enough not to block the sender)."""
    spec = ChildSpec("counter", _Counting, mailbox_size=messages + 10)
    root = Supervisor("bench", [spec], config=RuntimeConfig()).start()
    try:
        ref = root.ref("counter")
        return _measure(ref.tell, lambda m: ref.ask(m, timeout=10), messages, asks)
    finally:
        root.stop()


def bare_pykka(messages: int, asks: int) -> dict[str, float]:
    """Through pykka.ActorRef.tell / ask."""
    ref = _BarePykka.start()
    try:
        return _measure(ref.tell, lambda m: ref.ask(m, timeout=10), messages, asks)
    finally:
        ref.stop()


def bare_thread(messages: int, asks: int) -> dict[str, float]:
    """Through a thread reading a SimpleQueue."""
    actor = _BareThread()
    try:
        return _measure(actor.tell, actor.ask, messages, asks)
    finally:
        actor.stop()
