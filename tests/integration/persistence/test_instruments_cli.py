"""`alphap instruments load` run in-process against the test database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import structlog

from alphap.cli import main
from alphap.instrument_master import generate_dump, instruments, write_dump
from persistence import schema

SUMMARY = re.compile(
    r"^loaded (\d+) rows: (\d+) inserted, (\d+) updated, (\d+) unchanged, (\d+) deactivated"
    r" in \d+\.\d\d s$",
    re.MULTILINE,
)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", database_url)
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("ALPHAP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    yield
    structlog.reset_defaults()


@pytest.fixture
def dump(tmp_path: Path) -> Path:
    path = tmp_path / "instruments.csv"
    with path.open("w", newline="") as out:
        generate_dump(1_500, seed=3, out=out)
    return path


def _summary(out: str) -> tuple[int, ...]:
    found = SUMMARY.search(out)
    assert found, out
    return tuple(int(n) for n in found.groups())


@pytest.mark.usefixtures("cli_env")
def test_load_then_reload_prints_summaries(
    dump: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    assert main(["instruments", "load", "--file", str(dump)]) == 0
    assert _summary(capsys.readouterr().out) == (1_500, 1_500, 0, 0, 0)
    assert main(["instruments", "load", "--file", str(dump)]) == 0
    assert _summary(capsys.readouterr().out) == (1_500, 0, 0, 1_500, 0)
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM instruments").fetchone() == (1_500,)


@pytest.mark.usefixtures("cli_env")
def test_full_and_partial_loads(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = instruments(300, 2)
    whole, part = tmp_path / "whole.csv", tmp_path / "part.csv"
    with whole.open("w", newline="") as out:
        write_dump(rows, out)
    with part.open("w", newline="") as out:
        write_dump(rows[:100], out)
    assert main(["instruments", "load", "--file", str(whole)]) == 0
    assert _summary(capsys.readouterr().out) == (300, 300, 0, 0, 0)
    assert main(["instruments", "load", "--file", str(part), "--partial"]) == 0
    assert _summary(capsys.readouterr().out) == (100, 0, 0, 100, 0)
    assert main(["instruments", "load", "--file", str(part)]) == 0
    assert _summary(capsys.readouterr().out) == (100, 0, 0, 100, 200)


@pytest.mark.usefixtures("cli_env")
def test_bad_rows_fail_with_line_numbers_and_load_nothing(
    dump: Path, capsys: pytest.CaptureFixture[str], database_url: str
) -> None:
    lines = dump.read_text().splitlines(keepends=True)
    lines[10] = lines[10].replace(",NSE\n", ",NSE,EXTRA\n").replace(",BSE\n", ",BSE,EXTRA\n")
    lines[20] = "1,2,BAD,,-3,,0,0.05,1,EQ,NSE,NSE\n"
    dump.write_text("".join(lines))
    assert main(["instruments", "load", "--file", str(dump)]) != 0
    err = capsys.readouterr().err
    assert "2 invalid row(s)" in err
    assert "line 11: expected 12 fields, found 13" in err
    assert "line 21: last_price '-3' is not a decimal number >= 0" in err
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM instruments").fetchone() == (0,)

    assert main(["instruments", "load", "--file", str(dump), "--skip-invalid"]) == 0
    out = capsys.readouterr().out
    assert "skipped 2 invalid row(s):" in out
    assert "  line 11: expected 12 fields, found 13" in out
    assert _summary(out) == (1_498, 1_498, 0, 0, 0)


@pytest.mark.usefixtures("cli_env")
def test_missing_file_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["instruments", "load", "--file", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err


def test_refuses_a_database_not_at_head(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    empty_database_url: str,
    dump: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", empty_database_url)
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("ALPHAP_STATE_DIR", str(tmp_path / "state"))
    try:
        assert main(["instruments", "load", "--file", str(dump)]) == 2
    finally:
        structlog.reset_defaults()
    assert "alphap migrate" in capsys.readouterr().err
    assert schema.current_revision(empty_database_url) is None
