"""The journal while its database is down: degraded, nothing lost, everything committed after."""

from __future__ import annotations

from actors.journal import JournalConfig
from alphap.embedded import EmbeddedPostgres
from persistence import schema
from supervision import ChildSpec, Supervisor
from tests.integration.actors.trading_support import (
    WAIT,
    Signals,
    append,
    observed_journal,
    opened_pool,
    other_event,
    request,
    stored_event_ids,
)
from tests.unit.supervision.support import MemorySink, fast_config


def test_requests_survive_a_database_restart(own_postgres: EmbeddedPostgres) -> None:
    schema.upgrade(own_postgres.url)
    signals = Signals()
    sink = MemorySink()
    config = JournalConfig(max_batch=100, max_delay_ms=5, checkout_timeout=1.0, retry_cap=0.5)
    with opened_pool(own_postgres.url, timeout=1.0, reconnect_timeout=60.0) as pool:
        holder: dict[str, Supervisor] = {}
        root = Supervisor(
            "root",
            [
                ChildSpec(
                    "journal",
                    observed_journal(pool, signals, config, lambda: holder["root"].ref("journal")),
                )
            ],
            config=fast_config(sink),
        )
        holder["root"] = root
        root.start()
        with root:
            journal = root.ref("journal")
            before = append(journal, other_event())
            own_postgres.stop()
            during = [request(journal, other_event(), other_event()) for _ in range(5)]
            signals.wait("degraded")
            assert not any(reply.done() for reply in during)
            assert journal.info().state == "degraded"
            own_postgres.start()
            answered = [reply.result(WAIT) for reply in during]
            signals.wait("recovered")
            after = append(journal, other_event())
        stored = dict(stored_event_ids(pool))
    results = [*before, *[r for rs in answered for r in rs], *after]
    assert all(r.inserted for r in results)
    assert {r.event_id: r.journal_id for r in results} == stored
    assert sink.letters == []
