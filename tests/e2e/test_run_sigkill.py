"""`alphap run` as a process, killed with SIGKILL mid-stream and restarted, then stopped.

Exactly-once effects across crashes (ARCHITECTURE.md "Message flow"): every
valid event journaled once, every portfolio equal to the reference model fed
the stream in order, every invalid document a dead letter, nothing pending.
Compared exactly: cash, quantity, average_price, realized_pnl (and the
realized total); last_price and unrealized P&L are not, since ticks are not
durable across a SIGKILL.
"""

from __future__ import annotations

import random
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from actors.documents import parse_document
from actors.errors import InvalidDocumentError
from actors.ingress_batch import letter_id
from actors.stream import GROUP, stream_key
from supervision.deadletters import DeadLetterRegistry, LetterFilter
from tests.e2e.daemon_helpers import AlphapProcess, clean_environment
from tests.fixtures.reference_model import ReferencePortfolio, snapshot_from_row, without_prices
from tests.fixtures.stream import DocumentMix, append

DOCUMENTS = 3_000
KILLS = 3
SEED = 20260105
DEADLINE = 40.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def daemon(
    database_url: str, redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[AlphapProcess]:
    env = {
        **clean_environment(),
        "ALPHAP_DATABASE_URL": database_url,
        "ALPHAP_REDIS_URL": redis_server_url,
        "ALPHAP_REDIS_PREFIX": redis_prefix,
        "ALPHAP_STATE_DIR": str(tmp_path / "state"),
        "ALPHAP_SNAPSHOT_INTERVAL_SECONDS": "0.5",
        "ALPHAP_INGRESS_CONSUMER": "e2e",
        "ALPHAP_LOG_FORMAT": "json",
        "ALPHAP_ENV_FILE": str(tmp_path / "no.env"),
    }
    process = AlphapProcess(env, tmp_path / "daemon.log")
    yield process
    process.stop_now()


def journal_count(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM trading_events").fetchone()
    return int(row[0]) if row else 0


def group_state(client: redis.Redis, prefix: str) -> dict[str, Any]:
    try:
        groups = client.xinfo_groups(stream_key(prefix))
    except redis.ResponseError:
        return {"lag": None, "pending": None}
    for group in groups:
        if group["name"] in (GROUP, GROUP.encode()):
            return {"lag": group.get("lag"), "pending": group["pending"]}
    return {"lag": None, "pending": None}


def reference(documents: list[str]) -> dict[tuple[str, str], ReferencePortfolio]:
    portfolios: dict[tuple[str, str], ReferencePortfolio] = {}
    seen: set[Any] = set()
    for text in documents:
        try:
            document = parse_document(text)
        except InvalidDocumentError:
            continue
        if document.type != "order_filled":
            continue
        if document.event_id in seen:
            continue
        seen.add(document.event_id)
        key = (document.broker_namespace, document.portfolio_id)
        portfolios.setdefault(key, ReferencePortfolio()).apply(document)
    return portfolios


def test_sigkill_mid_stream_loses_nothing_and_applies_nothing_twice(
    daemon: AlphapProcess,
    database_url: str,
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    mix = DocumentMix(seed=SEED, portfolios=20)
    documents = mix.build(DOCUMENTS, invalid_share=0.02, duplicate_share=0.03)
    rng = random.Random(SEED)
    chunks = [documents[i :: KILLS + 1] for i in range(KILLS + 1)]
    order = [d for chunk in chunks for d in chunk]
    entry_ids: list[str] = []

    daemon.start("run")
    for chunk in chunks[:KILLS]:
        before = journal_count(database_url)
        entry_ids += append(redis_client, redis_prefix, chunk)
        # Kill at a seeded point while this chunk is being journaled.
        target = before + rng.randint(1, len(chunk) // 2)
        wait_for(lambda t=target: journal_count(database_url) >= t, "journal progress")  # type: ignore[misc]
        daemon.signal(signal.SIGKILL)
        assert daemon.wait() == -signal.SIGKILL
        daemon.start("run")
    entry_ids += append(redis_client, redis_prefix, chunks[KILLS])

    def drained() -> bool:
        state = group_state(redis_client, redis_prefix)
        return state["lag"] == 0 and state["pending"] == 0

    wait_for(drained, "every entry acknowledged")
    daemon.signal(signal.SIGTERM)
    assert daemon.wait() == 0, daemon.log_tail()

    with psycopg.connect(database_url) as conn:
        stored = [str(r[0]) for r in conn.execute("SELECT event_id FROM trading_events")]
        rows = conn.execute(
            "SELECT broker_namespace, portfolio_id, cash, total_realized_pnl,"
            " total_unrealized_pnl, total_pnl, positions FROM portfolio_snapshots"
        ).fetchall()
    assert len(stored) == len(set(stored)) == len(mix.event_ids)
    assert set(stored) == mix.event_ids

    expected = reference(order)
    actual = {
        (ns, pid): snapshot_from_row(cash, realized, unrealized, total, positions)
        for ns, pid, cash, realized, unrealized, total, positions in rows
    }
    assert set(actual) == set(expected)
    for key, model in expected.items():
        assert without_prices(actual[key]) == without_prices(model.snapshot()), key

    registry = DeadLetterRegistry(redis_client, redis_prefix)
    invalid_entries = [
        entry for entry, text in zip(entry_ids, order, strict=True) if text in mix.invalid
    ]
    assert invalid_entries
    key = stream_key(redis_prefix)
    for entry in invalid_entries:
        letter = registry.get(letter_id(key, entry))
        assert letter is not None and letter.source_id == entry
    assert registry.count(LetterFilter(actor="ingress")) == len(invalid_entries)
    assert group_state(redis_client, redis_prefix) == {"lag": 0, "pending": 0}
