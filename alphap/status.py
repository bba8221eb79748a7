"""What the daemon tells systemd in STATUS=: what it is doing and what is degraded.

Each probe asks with a short timeout and treats no answer as "unknown", so a
stuck actor or a dead database can delay the main loop by at most a second or
two and never stops the watchdog from being fed while the tree is healthy.
deploy/README.md lists every text this module produces.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pykka
import structlog
from psycopg_pool import PoolTimeout

from actors.session import GetSessionStatus, SessionState, SessionStatus
from persistence.pool import Pool
from supervision import Supervisor

log = structlog.get_logger("alphap.status")

PROBE_TIMEOUT_SECONDS = 0.5

SESSION_PROBLEMS = {
    SessionState.LOGIN_REQUIRED: "login required",
    SessionState.UNVERIFIED: "kite unreachable",
    SessionState.DATABASE_UNAVAILABLE: "database unavailable",
}


class StatusProbe:
    """Composes the STATUS= text of a running daemon from its root, pool and dead letters."""

    def __init__(
        self,
        root: Supervisor,
        pool: Pool,
        letters: pykka.ActorRef[Any],
        timeout: float = PROBE_TIMEOUT_SECONDS,
    ) -> None:
        self.root = root
        self.pool = pool
        self.letters = letters
        self.timeout = timeout

    def describe(self, *, healthy: bool) -> str:
        """ "running", or "running; <problem>; <problem>" in a fixed order."""
        problems: list[str] = []
        if not healthy:
            problems.append("not responding (watchdog withheld)")
        session = self._session_problem()
        if session is not None:
            problems.append(session)
        if not self._database_answers() and "database unavailable" not in problems:
            problems.append("database unavailable")
        spilled = self._spilled()
        if spilled:
            problems.append(f"{spilled} dead letter{'s' if spilled != 1 else ''} spilled to disk")
        return "; ".join(["running", *problems])

    def _session_problem(self) -> str | None:
        try:
            status = self.root.ref("session").ask(GetSessionStatus(), timeout=self.timeout)
        except KeyError:
            return None
        # Anything (a timeout, a restart in progress, a crash): the status must still be told.
        except Exception as exc:
            log.debug("status_session_unknown", error=type(exc).__name__)
            return "session unknown"
        if not isinstance(status, SessionStatus):
            return None
        return SESSION_PROBLEMS.get(status.state)

    def _database_answers(self) -> bool:
        try:
            with self.pool.connection(timeout=self.timeout) as conn:
                conn.execute("SELECT 1")
        except (PoolTimeout, psycopg.Error):
            return False
        return True

    def _spilled(self) -> int:
        try:
            stats = self.letters.proxy().get_stats().get(timeout=self.timeout)
        except (pykka.Timeout, pykka.ActorDeadError):
            return 0
        return int(stats.get("spill_pending", 0))
