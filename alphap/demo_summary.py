"""The summary `alphap demo` prints at the end, while its daemon still runs.

Documents fed by kind, how many the journal holds, the dead letters with their
reasons, the restarts supervision made, each portfolio's PnL, and the commands
to explore further.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alphap.demo import DemoPortfolio
from alphap.demo_session import Kind, Tally
from alphap.demo_view import actors, counts, figures, portfolio_table
from alphap.output import say
from supervision import Supervisor
from supervision.console.render import short, table
from supervision.deadletters import DeadLetter


@dataclass(frozen=True)
class Summary:
    """What the session did, as measured at its end."""

    seconds: float
    tally: Tally
    journaled: int
    letters: list[DeadLetter]
    letter_count: int
    prefix: str
    books: list[DemoPortfolio]


def print_summary(summary: Summary, root: Supervisor) -> None:
    """Print the summary and the commands to explore further."""
    tally = summary.tally
    kinds = tally.kinds
    say("")
    say("summary")
    say(f"  documents fed  {tally.fed} in {summary.seconds:.0f} s: {counts(tally)}")
    verdict = "all of them" if summary.journaled == tally.to_journal else "MISSING SOME"
    say(
        f"  journaled      {summary.journaled} of the {kinds[Kind.FILL]} fills and "
        f"{kinds[Kind.EVENT]} trading events fed ({verdict})"
    )
    say(f"  dead letters   {summary.letter_count}")
    if summary.letters:
        rows = [[d.actor, d.error_type, short(d.reason, 70)] for d in summary.letters]
        say("\n".join("    " + line for line in table(("actor", "error", "reason"), rows)))
    restarted = [a for a in actors(root) if a.restarts]
    say(f"  restarts       {sum(a.restarts for a in restarted)}")
    if restarted:
        restarts: list[list[Any]] = [
            [a.name, a.restarts, short(a.last_error, 70)] for a in restarted
        ]
        say("\n".join("    " + line for line in table(("actor", "restarts", "error"), restarts)))
    say("  portfolios")
    books = [figures(root, b) for b in summary.books]
    say("\n".join("    " + line for line in portfolio_table(books)))
    say("")
    say("explore further (the daemon stops now; each command starts what it needs):")
    say(f"  alphap portfolio show {summary.books[0].key}")
    say(f"  ALPHAP_REDIS_PREFIX={summary.prefix} alphap dlq list")
    say("  alphap console   from a second terminal while a demo runs (alphap demo --duration 300)")
