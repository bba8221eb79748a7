"""The daemon's supervision tree, children in ARCHITECTURE.md's start order.

journal -> portfolios -> snapshots -> ingress (session and instruments join
between journal and portfolios). The root stops them in reverse: the ingress
stops reading and acknowledges what is durable, portfolios write their final
snapshots, the journal flushes last.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pykka

from actors.ingress import Holdings, IngressActor, IngressConfig, IngressWiring
from actors.ingress_completion import DeadLetterActorStore
from actors.strategies import StrategyDirectory, pool_loader
from actors.stream import RedisIngressLog
from alphap.settings import Settings
from persistence.pool import Pool
from supervision import ActorHandle, ChildSpec, RuntimeConfig, Supervisor
from supervision.deadletters import ActorDeadLetterSink
from supervision.errors import Escalated
from supervision.redaction import DEFAULT_REDACTOR


@dataclass(frozen=True)
class TradingParts:
    """The trading children before the ingress, and the holdings index the ingress reads.

    `children` must hold an actor child named `journal` and a keyed subtree
    named `portfolios`, in ARCHITECTURE.md's start order.
    """

    children: list[ChildSpec]
    holdings: Holdings


RootRef = Callable[[str], ActorHandle]
"""The running root's handle of a child by name (children use it to reach their siblings)."""


class LiveSettings:
    """The settings of a running daemon, replaced whole by a reload (SIGHUP).

    Factories read `current` each time they build an actor, so an actor that a
    supervisor restarts after a reload starts with the reloaded values.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()

    @property
    def current(self) -> Settings:
        with self._lock:
            return self._settings

    def replace(self, settings: Settings) -> None:
        with self._lock:
            self._settings = settings


@dataclass(frozen=True)
class TreeContext:
    """What the tree is built from; `live` (when given) holds the reloadable settings."""

    settings: Settings
    pool: Pool
    redis_url: str
    letters: pykka.ActorRef[Any]
    stopping: threading.Event
    on_escalation: Callable[[Escalated], None]
    version: str
    live: LiveSettings | None = None

    def current(self) -> Settings:
        """The settings as last reloaded (the start-up ones without `live`)."""
        return self.live.current if self.live is not None else self.settings


def ingress_config(settings: Settings, version: str) -> IngressConfig:
    """The ingress's configuration from the ALPHAP_INGRESS_* settings."""
    return IngressConfig(
        batch_size=settings.ingress_batch_size,
        block_ms=settings.ingress_block_ms,
        max_in_flight=settings.ingress_max_in_flight,
        claim_idle_seconds=settings.ingress_claim_idle_seconds,
        claim_interval_seconds=settings.ingress_claim_interval_seconds,
        strategy_refresh_seconds=settings.strategy_refresh_seconds,
        journal_timeout_seconds=settings.ingress_journal_timeout_seconds,
        version=version,
    )


TradingFactory = Callable[[TreeContext, RootRef], TradingParts]


def build_root(context: TreeContext, trading: TradingFactory) -> Supervisor:
    """The root supervisor, not yet started: `trading(...)`'s children, then the ingress."""
    settings = context.settings
    pool = context.pool
    holder: dict[str, Supervisor] = {}
    consumer = settings.ingress_consumer or socket.gethostname()
    config = ingress_config(settings, context.version)

    def child(name: str) -> ActorHandle:
        return holder["root"].ref(name)

    parts = trading(context, child)

    def ingress() -> IngressActor:
        root = holder["root"]
        return IngressActor(
            config,
            IngressWiring(
                stream=lambda: RedisIngressLog(
                    context.redis_url,
                    settings.redis_prefix,
                    consumer=consumer,
                    block_ms=config.block_ms,
                ),
                journal=root.ref("journal"),
                portfolios=root.subtree("portfolios"),  # type: ignore[arg-type]
                holdings=parts.holdings,
                letters=DeadLetterActorStore(context.letters),
                strategies=StrategyDirectory(pool_loader(pool), config.strategy_refresh_seconds),
                myself=lambda: root.ref("ingress"),
                stopping=context.stopping,
            ),
        )

    children = [
        *parts.children,
        ChildSpec("ingress", ingress, shutdown_timeout=config.journal_timeout_seconds + 5),
    ]
    root = Supervisor(
        "root",
        children,
        config=RuntimeConfig(
            dead_letters=ActorDeadLetterSink(context.letters),
            version=context.version,
            redactor=DEFAULT_REDACTOR,
        ),
        on_escalation=context.on_escalation,
    )
    holder["root"] = root
    return root
