"""The spill file on its own: durable lines, rotation on drain, torn lines kept aside."""

from __future__ import annotations

from pathlib import Path

import pytest

from supervision.deadletters import DeadLetter, SpillFile


def letter(n: int = 0) -> DeadLetter:
    return DeadLetter(actor="journal", message_type="Flush", attempts=n)


def test_append_writes_one_json_line_per_letter(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "dlq.jsonl")
    letters = [letter(n) for n in range(3)]
    for item in letters:
        spill.append(item)
    lines = spill.path.read_bytes().splitlines()
    assert [DeadLetter.model_validate_json(line) for line in lines] == letters
    assert spill.pending == 3
    assert SpillFile(spill.path).pending == 3


def test_drain_hands_every_letter_over_in_order_then_deletes_the_file(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "dlq.jsonl")
    letters = [letter(n) for n in range(3)]
    for item in letters:
        spill.append(item)
    got: list[DeadLetter] = []
    assert spill.drain(got.append) == 3
    assert got == letters
    assert spill.pending == 0
    assert list(tmp_path.iterdir()) == []


def test_a_failing_drain_keeps_every_line(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "dlq.jsonl")
    for n in range(3):
        spill.append(letter(n))

    def fail_on_second(item: DeadLetter) -> None:
        if item.attempts == 1:
            raise ConnectionError("away")

    with pytest.raises(ConnectionError):
        spill.drain(fail_on_second)
    assert spill.pending == 3
    assert spill.draining_path.read_bytes().count(b"\n") == 3
    spill.append(letter(9))
    assert spill.pending == 4
    got: list[DeadLetter] = []
    assert spill.drain(got.append) == 4
    assert [item.attempts for item in got] == [0, 1, 2, 9]


def test_a_torn_line_is_set_aside_and_the_next_append_starts_a_fresh_line(
    tmp_path: Path,
) -> None:
    spill = SpillFile(tmp_path / "dlq.jsonl")
    spill.append(letter(0))
    with spill.path.open("ab") as f:
        f.write(b'{"id": "torn-by-a-cr')
    spill.append(letter(1))
    got: list[DeadLetter] = []
    assert spill.drain(got.append) == 2
    assert [item.attempts for item in got] == [0, 1]
    assert spill.rejected_path.read_bytes() == b'{"id": "torn-by-a-cr\n'
