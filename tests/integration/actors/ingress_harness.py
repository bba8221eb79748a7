"""A small tree around a real ingress: real Redis, PostgreSQL and dead letters.

The journal here is a minimal stand-in that keeps the AppendToJournal contract
(one transaction per request through `events.append`, the reply future set
after commit); it fails any request holding an event whose type is `poison`,
the way the real journal isolates an event the database refuses. Portfolios
record what they are told.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pykka
import tenacity

from actors.ingress import IngressActor, IngressConfig, IngressWiring
from actors.ingress_completion import DeadLetterActorStore
from actors.messages import AppendToJournal, ApplyFill, UpdateLastPrices
from actors.strategies import StrategyDirectory, pool_loader
from actors.stream import RedisIngressLog
from persistence.pool import Pool, PoolConfig, open_pool
from persistence.repositories import events
from persistence.uow import unit_of_work
from supervision import (
    ActorHandle,
    ActorInfo,
    Backoff,
    ChildSpec,
    KeyedSupervisor,
    RuntimeConfig,
    SupervisedActor,
    Supervisor,
)
from supervision.deadletters import (
    ActorDeadLetterSink,
    DeadLetterActor,
    DeadLetterRegistry,
    DeadLetterStore,
    SpillFile,
    dead_letter_client,
)
from supervision.faults import FaultPlan


class StandInJournal(SupervisedActor):
    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def handle(self, message: Any) -> Any:
        assert isinstance(message, AppendToJournal)
        if any(event.event_type == "poison" for event in message.events):
            message.reply.set_exception(ValueError("the database refused an event"))
            return None
        with unit_of_work(self.pool) as uow:
            results = events.append(uow.conn, list(message.events))
        message.reply.set_result(results)
        return None


@dataclass
class Recorder:
    fills: dict[Hashable, list[int]] = field(default_factory=lambda: defaultdict(list))
    prices: dict[Hashable, list[str]] = field(default_factory=lambda: defaultdict(list))
    received: dict[Hashable, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)


class RecordingPortfolio(SupervisedActor):
    def __init__(self, key: Hashable, recorder: Recorder) -> None:
        self.key = key
        self.recorder = recorder

    def handle(self, message: Any) -> Any:
        with self.recorder.lock:
            if isinstance(message, ApplyFill):
                self.recorder.fills[self.key].append(message.journal_id)
                self.recorder.received[self.key].append("fill")
            elif isinstance(message, UpdateLastPrices):
                for price in message.prices.values():
                    self.recorder.prices[self.key].append(str(price))
                    self.recorder.received[self.key].append(f"price {price}")
        return None


@dataclass
class StaticHoldings:
    by_token: dict[int, list[Hashable]] = field(default_factory=dict)

    def holders(self, instrument_token: int) -> Iterable[Hashable]:
        return list(self.by_token.get(instrument_token, ()))

    def add(self, key: Hashable, instrument_tokens: Iterable[int]) -> None:
        for token in instrument_tokens:
            holders = self.by_token.setdefault(token, [])
            if key not in holders:
                holders.append(key)


@dataclass
class Harness:
    root: Supervisor
    recorder: Recorder
    registry: DeadLetterRegistry
    stopping: threading.Event
    pool: Pool

    @property
    def ingress(self) -> ActorHandle:
        return self.root.ref("ingress")

    def description(self) -> dict[str, Any]:
        for child in self.root.tree(5.0).children:
            if child.name == "ingress" and isinstance(child, ActorInfo):
                assert child.description is not None
                return dict(child.description)
        raise AssertionError("no ingress")


@contextlib.contextmanager
def harness(
    *,
    database_url: str,
    redis_url: str,
    prefix: str,
    tmp_path: Path,
    config: IngressConfig | None = None,
    holdings: StaticHoldings | None = None,
    consumer: str = "test-consumer",
    faults: FaultPlan | None = None,
) -> Iterator[Harness]:
    """Build and start the tree; stop it (gracefully) afterwards."""
    pool = open_pool(PoolConfig(conninfo=database_url, max_size=4))
    letters_client = dead_letter_client(redis_url)
    registry = DeadLetterRegistry(letters_client, prefix)
    store = DeadLetterStore(registry, SpillFile(tmp_path / "spill.jsonl"))
    letters_ref = DeadLetterActor.start(store)
    recorder = Recorder()
    stopping = threading.Event()
    cfg = config or IngressConfig(housekeeping_seconds=0.2, block_ms=50)
    holder: dict[str, Supervisor] = {}

    def ingress() -> IngressActor:
        root = holder["root"]
        wiring = IngressWiring(
            stream=lambda: RedisIngressLog(redis_url, prefix, consumer=consumer, block_ms=50),
            journal=root.ref("journal"),
            portfolios=root.subtree("portfolios"),  # type: ignore[arg-type]
            holdings=holdings or StaticHoldings(),
            letters=DeadLetterActorStore(letters_ref),
            strategies=StrategyDirectory(pool_loader(pool), cfg.strategy_refresh_seconds),
            myself=lambda: root.ref("ingress"),
            stopping=stopping,
        )
        return IngressActor(cfg, wiring)

    root = Supervisor(
        "root",
        [
            ChildSpec("journal", lambda: StandInJournal(pool)),
            ChildSpec(
                "portfolios",
                lambda: KeyedSupervisor(
                    "portfolios", lambda key: RecordingPortfolio(key, recorder)
                ),
                subtree=True,
            ),
            ChildSpec("ingress", ingress),
        ],
        config=RuntimeConfig(
            dead_letters=ActorDeadLetterSink(letters_ref),
            backoff=Backoff(wait=tenacity.wait_fixed(0.01)),
        ),
        faults=faults,
    )
    holder["root"] = root
    root.start()
    try:
        yield Harness(root, recorder, registry, stopping, pool)
    finally:
        stopping.set()
        root.stop()
        letters_ref.stop()
        letters_client.close()
        pool.close()
        pykka.ActorRegistry.stop_all()
