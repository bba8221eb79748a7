"""The generic console commands over a real tree: read-only ones in both forms, admin ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from supervision.console import CommandFailed, ConsoleClient
from supervision.console.render import render
from supervision.redaction import MASK
from tests.unit.supervision.console_support import SECRET, served_tree, socket_dir
from tests.unit.supervision.support import WAIT, Journal, MemorySink


@pytest.fixture
def directory() -> Iterator[Path]:
    with socket_dir() as path:
        yield path


@pytest.fixture
def journal() -> Journal:
    return Journal()


def no_secret(text: str) -> None:
    assert SECRET not in text
    assert "plain-secret-under-a-secret-key" not in text


def test_read_only_commands_in_both_forms(
    directory: Path, journal: Journal, sink: MemorySink
) -> None:
    with served_tree(directory, journal, sink) as (root, server):
        root.ref("worker").ask("hello")
        root.subtree("keys").ask("k1", "ping")  # type: ignore[attr-defined]
        with ConsoleClient(server.path) as client:
            tree = client.call("tree")
            actors = client.call("actors")
            inspected = client.call("inspect", ["worker"])
            health = client.call("health")
            keyed = client.call("inspect", ["keys"])
            lines = {
                name: render(name, result)
                for name, result in [
                    ("tree", tree), ("actors", actors), ("inspect", inspected), ("health", health),
                ]
            }  # fmt: skip

    assert tree["name"] == "root" and tree["state"] == "running"
    assert [c["name"] for c in tree["children"]] == ["worker", "keys", "other"]
    assert tree["children"][1]["summary"] == {"keys": 1, "live": 1, "waiting": 0}
    by_name = {row["name"]: row for row in actors}
    assert set(by_name) == {"worker", "keys/k1", "other"}
    assert by_name["worker"]["processed"] == 1
    assert by_name["keys/k1"]["supervisor"] == "keys"
    assert by_name["other"]["state"] == "running"
    assert inspected["node"] == "actor"
    assert inspected["actor_class"] == "Described"
    assert inspected["description"]["handled"] >= 1
    assert inspected["description"]["api_secret"] == MASK
    assert keyed["node"] == "supervisor" and keyed["kind"] == "keyed"
    assert keyed["summary"]["live"] == 1
    assert health["healthy"] is True and health["trouble"] == []

    assert lines["tree"][0].startswith("root  [running]")
    assert any(line.strip().startswith("keys/k1  [running]") for line in lines["tree"])
    assert lines["actors"][0].split() == [
        "name", "state", "mailbox", "processed", "failed", "restarts", "last_error",
    ]  # fmt: skip
    assert any(line.split()[:2] == ["worker", "running"] for line in lines["actors"])
    assert "description:" in lines["inspect"]
    assert any(line.split() == ["5", "3", "101.5"] for line in lines["inspect"])
    assert lines["health"][0] == "healthy: root running, 3 live actors"
    no_secret(json.dumps([tree, actors, inspected, health]))
    no_secret("\n".join(line for group in lines.values() for line in group))


def test_unknown_actor_is_a_usage_error(
    directory: Path, journal: Journal, sink: MemorySink
) -> None:
    with served_tree(directory, journal, sink) as (_, server), ConsoleClient(server.path) as client:
        with pytest.raises(CommandFailed) as caught:
            client.call("inspect", ["ghost"])
        assert caught.value.code == "usage"
        assert "no actor named 'ghost'" in str(caught.value)
        with pytest.raises(CommandFailed, match="usage: inspect NAME"):
            client.call("inspect")


@pytest.mark.parametrize(
    "words", [["restart", "worker"], ["passivate", "keys/k1"], ["fault", "worker", "raise"]]
)
def test_admin_commands_are_refused_without_admin(
    directory: Path, journal: Journal, sink: MemorySink, words: list[str]
) -> None:
    with served_tree(directory, journal, sink) as (root, server), ConsoleClient(server.path) as c:
        with pytest.raises(CommandFailed) as caught:
            c.call(words[0], words[1:])
        assert caught.value.code == "admin_disabled"
        assert "set TEST_ADMIN=1" in str(caught.value)
        assert root.ref("worker").info().restarts == 0
        assert root.faults is None


def test_restart_gives_a_fresh_incarnation_and_counts_it(
    directory: Path, journal: Journal, sink: MemorySink
) -> None:
    with (
        served_tree(directory, journal, sink, admin=True) as (root, server),
        ConsoleClient(server.path) as client,
    ):
        result = client.call("restart", ["worker"])
        assert result["restarts"] == 1
        journal.wait(lambda j: j.starts.count("worker") == 2)
        assert journal.stops.count("worker") == 1
        assert root.ref("worker").ask("after") == "after"
        actors = {row["name"]: row for row in client.call("actors")}
        assert actors["worker"]["restarts"] == 1
        assert root.intensity.count() == 0
        subtree = client.call("restart", ["keys"])
        assert subtree["restarts"] == 1
        assert root.subtree("keys").ask("k2", "x") == "x"  # type: ignore[attr-defined]


def test_passivate_stops_an_idle_keyed_actor(
    directory: Path, journal: Journal, sink: MemorySink
) -> None:
    with (
        served_tree(directory, journal, sink, admin=True) as (root, server),
        ConsoleClient(server.path) as client,
    ):
        keys = root.subtree("keys")
        keys.ask("k1", "hello")  # type: ignore[attr-defined]
        result = client.call("passivate", ["keys/k1"])
        assert result == {"name": "keys/k1", "state": "passivated", "live_keys": 0}
        assert journal.passivations == ["k1"]
        with pytest.raises(CommandFailed, match="not a keyed actor"):
            client.call("passivate", ["worker"])
        assert keys.ask("k1", "again") == "again"  # type: ignore[attr-defined]


def test_fault_raise_dead_letters_the_next_message_only(
    directory: Path, journal: Journal, sink: MemorySink
) -> None:
    with (
        served_tree(directory, journal, sink, admin=True) as (root, server),
        ConsoleClient(server.path) as client,
    ):
        rule = client.call("fault", ["worker", "raise"])
        assert rule["effect"] == "raise" and rule["messages"] == 1
        worker = root.ref("worker")
        worker.tell("doomed")
        worker.tell("fine")
        letters = sink.wait_for(1)
        journal.wait(lambda j: ("worker", "fine") in j.handled)
        assert letters[0].actor == "worker"
        assert letters[0].attempts == 3
        assert ("worker", "doomed") not in journal.handled
        assert worker.info().dead_lettered == 1
        assert client.call("fault", ["worker", "clear"]) == {"name": "worker", "cleared": 1}
        assert root.faults is not None and root.faults.rules() == []


def test_fault_on_one_key_and_fail_start(
    directory: Path, journal: Journal, sink: MemorySink
) -> None:
    with (
        served_tree(directory, journal, sink, admin=True) as (root, server),
        ConsoleClient(server.path) as client,
    ):
        keys = root.subtree("keys")
        keys.ask("k1", "first")  # type: ignore[attr-defined]
        keys.ask("k2", "first")  # type: ignore[attr-defined]
        client.call("fault", ["keys/k1", "raise", "--messages", "1"])
        assert keys.ask("k2", "untouched") == "untouched"  # type: ignore[attr-defined]
        keys.tell("k1", "doomed")  # type: ignore[attr-defined]
        assert sink.wait_for(1)[0].actor == "keys/k1"
        started = client.call("fault", ["other", "fail_start"])
        assert started["effect"] == "fail_start"
        client.call("restart", ["other"])
        assert root.faults is not None and root.faults.wait_fired(started["rule"], 1, WAIT)
        assert root.wait_until(lambda: root.ref("other").info().restarts >= 2, WAIT)
        assert root.ref("other").ask("back") == "back"
        with pytest.raises(CommandFailed, match="unknown fault kind"):
            client.call("fault", ["worker", "explode"])
        with pytest.raises(CommandFailed, match="must be a number"):
            client.call("fault", ["worker", "hang", "--seconds", "soon"])


def test_health_is_false_while_an_actor_hangs(
    directory: Path, journal: Journal, sink: MemorySink
) -> None:
    with (
        served_tree(directory, journal, sink, admin=True, deadline=0.2) as (root, server),
        ConsoleClient(server.path) as client,
    ):
        plan_rule = client.call("fault", ["other", "hang", "--seconds", str(WAIT)])
        root.ref("other").tell("stuck")
        assert root.faults is not None and root.faults.wait_fired(plan_rule["rule"], 1, WAIT)
        health = client.call("health")
        root.faults.release()
    assert health["healthy"] is False
    assert render("health", health)[0] == "NOT healthy: root running, 2 live actors"
