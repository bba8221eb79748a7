"""Retention of trading_events: old events deleted in batches, the writer never blocked."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import structlog

from alphap.cli import main
from persistence import retention

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AGE = timedelta(days=90)
CUTOFF = NOW - AGE


@pytest.fixture
def cli() -> Iterator[Callable[[list[str]], int]]:
    """`alphap` run in-process; the logging it configures is undone afterwards."""
    saved = structlog.get_config()
    yield main
    structlog.configure(**saved)


def _insert(url: str, count: int, newest: datetime, namespaces: tuple[str, ...]) -> None:
    """`count` events, one second apart going back from `newest`, spread over `namespaces`."""
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO trading_events (event_id, event_type, broker_namespace, "
            "event_timestamp, event_data) "
            "SELECT gen_random_uuid(), 'tick', (%s::text[])[1 + g %% cardinality(%s::text[])], "
            "%s - g * interval '1 second', '{}' FROM generate_series(0, %s - 1) g",
            [list(namespaces), list(namespaces), newest, count],
        )


def _timestamps(url: str) -> list[datetime]:
    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT event_timestamp FROM trading_events")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("2w", timedelta(weeks=2)),
        (" 7D ", timedelta(days=7)),
    ],
)
def test_ages_are_read_in_hours_days_and_weeks(text: str, expected: timedelta) -> None:
    assert retention.parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "90", "d", "90m", "-1d", "0d", "1.5d", "90 days"])
def test_other_ages_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="age"):
        retention.parse_age(text)


def test_only_events_older_than_the_cutoff_are_deleted(database_url: str) -> None:
    _insert(database_url, 25, CUTOFF - timedelta(seconds=1), ("paper", "zerodha", "x"))
    _insert(database_url, 10, CUTOFF + timedelta(seconds=10), ("paper", "zerodha"))
    batches: list[int] = []

    deleted = retention.prune_events(
        database_url, AGE, batch_size=4, now=NOW, on_batch=batches.append
    )

    assert deleted == 25
    remaining = _timestamps(database_url)
    assert len(remaining) == 10
    assert all(ts >= CUTOFF for ts in remaining)
    assert len(batches) >= 25 // 4  # it went in batches, not one statement
    assert batches[-1] == 25


def test_dry_run_counts_and_deletes_nothing(database_url: str) -> None:
    _insert(database_url, 12, CUTOFF - timedelta(hours=1), ("paper",))
    _insert(database_url, 3, NOW, ("paper",))

    assert retention.prune_events(database_url, AGE, dry_run=True, now=NOW) == 12

    assert len(_timestamps(database_url)) == 15


def test_a_connection_can_be_given_instead_of_a_conninfo(database_url: str) -> None:
    _insert(database_url, 5, CUTOFF - timedelta(days=1), ("paper",))
    _insert(database_url, 2, NOW, ("paper",))

    with psycopg.connect(database_url) as conn:
        assert retention.prune_events(conn, AGE, batch_size=2, now=NOW) == 5
        conn.execute("SELECT 1")
        with pytest.raises(ValueError, match="outside any transaction"):
            retention.prune_events(conn, AGE, now=NOW)

    assert len(_timestamps(database_url)) == 2


def test_the_command_prunes_and_says_how_many(
    database_url: str,
    cli: Callable[[list[str]], int],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", database_url)
    old = datetime.now(UTC) - timedelta(days=91)
    _insert(database_url, 6, old, ("paper",))
    _insert(database_url, 4, datetime.now(UTC), ("paper",))

    assert cli(["events", "prune", "--older-than", "90d", "--dry-run"]) == 0
    assert "6 event(s) would be removed" in capsys.readouterr().out
    assert len(_timestamps(database_url)) == 10

    assert cli(["events", "prune", "--older-than", "90d"]) == 0
    assert "6 event(s) removed" in capsys.readouterr().out
    assert len(_timestamps(database_url)) == 4


def test_the_command_refuses_a_bad_age(
    cli: Callable[[list[str]], int], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli(["events", "prune", "--older-than", "90x"])
    assert exited.value.code == 2
    assert "not an age like 90d" in capsys.readouterr().err


def test_a_writer_keeps_inserting_while_the_prune_runs(database_url: str) -> None:
    old_events, batch_size, writer_rows = 20_000, 1_000, 100
    _insert(database_url, old_events, CUTOFF - timedelta(days=1), ("paper", "zerodha"))
    progress = threading.Condition()
    written = 0
    writer_error: list[BaseException] = []

    def writer() -> None:
        nonlocal written
        try:
            with psycopg.connect(database_url, autocommit=True) as conn:
                for _ in range(writer_rows):
                    conn.execute(
                        "INSERT INTO trading_events (event_id, event_type, broker_namespace, "
                        "event_timestamp, event_data) "
                        "VALUES (gen_random_uuid(), 'tick', 'paper', %s, '{}')",
                        [NOW],
                    )
                    with progress:
                        written += 1
                        progress.notify_all()
        except BaseException as exc:
            writer_error.append(exc)
            raise

    batches_seen = 0

    def between_batches(_: int) -> None:
        # The prune goes on only once the writer has made progress: a prune that
        # blocked the writer would stall here and the wait would time out.
        nonlocal batches_seen
        batches_seen += 1
        want = min(writer_rows, batches_seen * writer_rows // (old_events // batch_size))
        with progress:
            assert progress.wait_for(lambda: written >= want, timeout=60), (written, want)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    deleted = retention.prune_events(
        database_url, AGE, batch_size=batch_size, now=NOW, on_batch=between_batches
    )
    thread.join(timeout=60)

    assert not thread.is_alive()
    assert writer_error == []
    assert deleted == old_events
    assert batches_seen >= old_events // batch_size
    assert written == writer_rows  # all of its inserts finished while the prune ran
    remaining = _timestamps(database_url)
    assert len(remaining) == writer_rows
    assert set(remaining) == {NOW}
