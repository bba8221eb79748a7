"""What `alphap demo` shows while it runs: actors and portfolio PnL from the live tree.

On a terminal the view redraws itself in place every second; otherwise (CI, a
pipe) it prints one progress line every few seconds so logs stay readable.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pykka

from alphap.demo import DemoPortfolio
from alphap.demo_session import Kind, Tally
from alphap.output import say
from supervision import Supervisor
from supervision.console.render import table
from supervision.console.tree_commands import walk
from supervision.introspection import ActorInfo

DEADLINE_SECONDS = 0.5
REDRAW_SECONDS = 1.0
PROGRESS_SECONDS = 5.0
ACTOR_COLUMNS = ("actor", "state", "mailbox", "processed", "restarts")
PORTFOLIO_COLUMNS = ("portfolio", "open", "realized", "unrealized", "total pnl")


@dataclass(frozen=True)
class Figures:
    """One portfolio as its live actor describes it (None: no answer in time)."""

    name: str
    open_positions: int | None = None
    realized: Decimal | None = None
    unrealized: Decimal | None = None
    total: Decimal | None = None


@dataclass(frozen=True)
class Progress:
    """Where the session is, for the view's header."""

    phase: str
    elapsed: float
    duration: float
    rate: float
    tally: Tally
    letters: int


def actors(root: Supervisor) -> list[ActorInfo]:
    """Every actor of the tree, depth first in start order."""
    return [info for _, info in walk(root.tree(DEADLINE_SECONDS)) if isinstance(info, ActorInfo)]


def figures(root: Supervisor, book: DemoPortfolio) -> Figures:
    """The portfolio's PnL, asked of its actor (a passivated or busy one answers nothing)."""
    name = str(book.key)
    found = root.locate(f"portfolios/{name}")
    future = found[1].describe() if found is not None else None
    if future is None:
        return Figures(name)
    try:
        described: dict[str, Any] = future.get(timeout=DEADLINE_SECONDS)
    except (pykka.Timeout, pykka.ActorDeadError):
        return Figures(name)
    positions = described.get("positions", {})
    return Figures(
        name,
        open_positions=sum(1 for p in positions.values() if p["quantity"]),
        realized=Decimal(described["total_realized_pnl"]),
        unrealized=Decimal(described["total_unrealized_pnl"]),
        total=Decimal(described["total_pnl"]),
    )


def _money(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def portfolio_table(rows: list[Figures]) -> list[str]:
    """The PnL table, money right-aligned (the console's table aligns only numbers)."""
    money = [[_money(f.realized), _money(f.unrealized), _money(f.total)] for f in rows]
    widths = [
        max([len(h), *(len(m[i]) for m in money)]) for i, h in enumerate(PORTFOLIO_COLUMNS[2:])
    ]
    cells = [[m.rjust(w) for m, w in zip(ms, widths, strict=True)] for ms in money]
    header = [
        *PORTFOLIO_COLUMNS[:2],
        *(h.rjust(w) for h, w in zip(PORTFOLIO_COLUMNS[2:], widths, strict=True)),
    ]
    return table(header, [[f.name, f.open_positions, *c] for f, c in zip(rows, cells, strict=True)])


def actor_table(rows: list[ActorInfo]) -> list[str]:
    return table(
        ACTOR_COLUMNS, [[a.name, a.state, a.mailbox_depth, a.processed, a.restarts] for a in rows]
    )


def counts(tally: Tally) -> str:
    kinds = tally.kinds
    return (
        f"{kinds[Kind.FILL]} fills, {kinds[Kind.EVENT]} trading events, "
        f"{kinds[Kind.TICK]} ticks, {tally.refused} malformed or refused"
    )


class LiveView:
    """Draws the demo's state: in place on a terminal, as progress lines elsewhere."""

    def __init__(self, root: Supervisor, books: list[DemoPortfolio], *, tty: bool) -> None:
        self.root = root
        self.books = books
        self.tty = tty
        self.hints: list[str] = []
        self._drawn = 0
        self._next = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self._next

    def show(self, progress: Progress) -> None:
        """Redraw (terminal) or print a progress line, if it is time to."""
        if not self.due():
            return
        self._next = time.monotonic() + (REDRAW_SECONDS if self.tty else PROGRESS_SECONDS)
        books = [figures(self.root, b) for b in self.books]
        tree = actors(self.root)
        if self.tty:
            self._redraw(progress, tree, books)
        else:
            self._line(progress, tree, books)

    def _redraw(self, progress: Progress, tree: list[ActorInfo], books: list[Figures]) -> None:
        restarts = sum(a.restarts for a in tree)
        lines = [
            f"alphap demo  {progress.phase}  {progress.elapsed:3.0f}/{progress.duration:g} s  "
            f"{progress.tally.fed} documents ({progress.rate:g}/s)  "
            f"{progress.letters} dead letters  {restarts} restarts",
            *self.hints,
            "",
            *actor_table(tree),
            "",
            *portfolio_table(books),
            "",
            "Ctrl-C stops the demo gracefully; a second Ctrl-C stops it at once",
        ]
        erase = f"\x1b[{self._drawn}F\x1b[J" if self._drawn else ""
        say(erase + "\n".join(lines))
        # A line wider than the terminal takes more than one row to erase next time.
        width = max(1, shutil.get_terminal_size().columns)
        self._drawn = sum(max(1, -(-len(line) // width)) for line in lines)

    def _line(self, progress: Progress, tree: list[ActorInfo], books: list[Figures]) -> None:
        restarts = sum(a.restarts for a in tree)
        pnl = ", ".join(f"{f.name} {_money(f.total)}" for f in books)
        say(
            f"demo {progress.phase} {progress.elapsed:.0f}/{progress.duration:g} s: "
            f"{progress.tally.fed} documents fed ({counts(progress.tally)}); "
            f"{progress.letters} dead letters; {restarts} restarts; total pnl {pnl}"
        )
