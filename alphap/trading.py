"""The trading children of the daemon's tree, in ARCHITECTURE.md's start order.

journal -> session -> instruments -> portfolios -> snapshots; alphap.tree adds
the ingress after them. The schedules (session sweep, instrument refresh,
snapshot interval) come from the live settings, so a restarted actor keeps a
value reloaded by SIGHUP. Portfolios recover in bulk at start (one warm start for
every snapshotted portfolio), and those holding instruments are entered in the
holdings index at once, so a tick reaches them (and activates them) after a
restart as it did before it, not only once a fill has woken them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

from actors.holdings import HoldingsIndex
from actors.instruments import InstrumentsActor
from actors.journal import JournalActor, JournalConfig
from actors.portfolio import PortfolioActor, PortfolioDeps
from actors.recovery import WarmStart
from actors.session import SessionActor, ValidateSession
from actors.snapshots import DirtySnapshots, SnapshotWriter, SnapshotWriterConfig
from alphap.database import token_cipher
from alphap.kite import kite_access, refresh_time
from alphap.tree import RootRef, TradingParts, TreeContext
from supervision import ActorHandle, ChildSpec, KeyedSupervisor


def trading_parts(context: TreeContext, root: RootRef) -> TradingParts:
    """The journal, session, instruments, portfolios and snapshot writer of one run."""
    settings, pool = context.settings, context.pool

    def myself(name: str) -> Callable[[], ActorHandle]:
        return lambda: root(name)

    dirty, holdings = DirtySnapshots(), HoldingsIndex()
    warm = WarmStart.load(pool, settings.portfolio_starting_cash)
    for key, tokens in warm.holdings():
        holdings.add(key, tokens)
    # Written by the first snapshot flush; their actors recover from memory when started.
    for state in warm.take_stale():
        dirty.publish(state)
    deps = PortfolioDeps(
        pool, dirty, holdings, warm, starting_cash=settings.portfolio_starting_cash
    )
    cipher = token_cipher(settings)
    kite = kite_access(settings)

    def refresh_at() -> time | None:
        return refresh_time(context.current()) if kite is not None else None

    journal = JournalConfig(
        max_batch=settings.journal_max_batch, max_delay_ms=settings.journal_max_delay_ms
    )
    children = [
        ChildSpec("journal", JournalActor.factory(pool, journal, myself("journal"))),
        ChildSpec(
            "session",
            lambda: SessionActor(
                pool,
                cipher,
                kite,
                access_token=settings.kite_access_token,
                myself=myself("session"),
                sweep_seconds=context.current().session_sweep_seconds,
            ),
        ),
        ChildSpec(
            "instruments",
            lambda: InstrumentsActor(
                pool,
                cipher,
                kite,
                refresh_at=refresh_at(),
                myself=myself("instruments"),
                # A refused token seen here is news for the session's owner: it re-checks.
                on_token_expired=lambda: root("session").tell(ValidateSession()),
            ),
        ),
        ChildSpec(
            "portfolios",
            lambda: KeyedSupervisor(
                "portfolios",
                PortfolioActor.factory(deps),
                idle_after=settings.portfolio_idle_seconds,
                max_live=settings.portfolio_max_live,
            ),
            subtree=True,
        ),
        ChildSpec(
            "snapshots",
            lambda: SnapshotWriter(
                pool,
                dirty,
                SnapshotWriterConfig(interval=context.current().snapshot_interval_seconds),
                myself("snapshots"),
            ),
        ),
    ]
    return TradingParts(children=children, holdings=holdings)
