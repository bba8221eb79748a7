"""Fuzzing the instrument loader with broken dumps: a clear error with line numbers, or a load.

Each example starts from a valid dump of a few dozen rows and breaks some of its
records (wrong field counts, bad numbers, bad dates, empty required fields,
duplicate tokens, NULs, unterminated quotes), maybe with CRLF or mixed line
ends, a BOM and quoted fields holding commas, quotes and newlines. The broken
records' physical line numbers are known, so the error must name exactly them;
`instruments` and `instrument_registry` must then be exactly as before, row for
row. With skip_invalid the other rows load, exactly. Whole-file breakage
(empty, header only, wrong header, truncated, not UTF-8) is checked too, and the
CLI must exit 2 with the message and no traceback.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphap.cli import main
from alphap.instrument_master import instruments, write_dump
from persistence.instruments import (
    COLUMNS,
    InstrumentDumpError,
    InvalidDumpRowsError,
    load_instruments,
)

BASELINE = instruments(60, seed=5)
ROWS = instruments(40, seed=9)
FUZZ = settings(
    deadline=None,
    max_examples=100,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_INTEGERS = ("instrument_token", "exchange_token", "lot_size")
_DECIMALS = ("last_price", "strike", "tick_size")
_REQUIRED = ("tradingsymbol", "instrument_type", "segment", "exchange")
BAD_VALUES: dict[str, st.SearchStrategy[str]] = {
    **{c: st.sampled_from(["abc", "-1", "1.5", "", "9" * 30, "1e3", "--1"]) for c in _INTEGERS},
    **{c: st.sampled_from(["abc", "-0.05", "NaN", "Infinity", "", "1.2.3", "1,5"])
       for c in _DECIMALS},
    "expiry": st.sampled_from(
        ["2025-02-30", "2025/01/01", "soon", "20250101", "2025-1-1", "01-01-2025", "2025-01-01T00"]
    ),
    **{c: st.just("") for c in _REQUIRED},
}  # fmt: skip


def _snapshot(conn: psycopg.Connection[Any]) -> tuple[list[Any], list[Any]]:
    return (
        conn.execute("SELECT * FROM instruments ORDER BY instrument_token").fetchall(),
        conn.execute("SELECT * FROM instrument_registry ORDER BY id").fetchall(),
    )


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A database holding BASELINE and registry rows for a third of it, committed."""
    text = io.StringIO(newline="")
    write_dump(BASELINE, text)
    with psycopg.connect(database_url) as connection:
        load_instruments(connection, io.StringIO(text.getvalue(), newline=""))
        connection.cursor().executemany(
            "INSERT INTO instrument_registry (instrument_token, tradingsymbol, exchange)"
            " VALUES (%s, %s, %s)",
            [(i.instrument_token, i.tradingsymbol, i.exchange) for i in BASELINE[::3]],
        )
        connection.commit()
        yield connection


@dataclass
class Dump:
    """A dump as text, the physical lines of its broken records, and the good rows."""

    text: str
    broken_lines: list[int]
    good: list[list[str]]


def _record(fields: list[str], quote_all: bool) -> str:
    out = io.StringIO()
    quoting = csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL
    csv.writer(out, lineterminator="\n", quoting=quoting).writerow(fields)
    return out.getvalue()[:-1]


@st.composite
def broken_record(
    draw: st.DrawFn, fields: list[str], earlier_tokens: list[str], *, last: bool
) -> str:
    """The CSV text of `fields` broken in one way the loader must refuse.

    An unterminated quote swallows the rest of the file, so only the last record gets one.
    """
    how = draw(st.sampled_from(["value", "fewer", "more", "duplicate", "nul", "quote"]))
    if (how == "quote" and not last) or (how == "duplicate" and not earlier_tokens):
        how = "fewer"
    fields = list(fields)
    if how == "value":
        column = draw(st.sampled_from(sorted(BAD_VALUES)))
        fields[COLUMNS.index(column)] = draw(BAD_VALUES[column])
    elif how == "fewer":
        fields = fields[: draw(st.integers(1, len(COLUMNS) - 1))]
    elif how == "more":
        fields += draw(st.lists(st.sampled_from(["", "x", "1"]), min_size=1, max_size=3))
    elif how == "duplicate":
        fields[0] = draw(st.sampled_from(earlier_tokens))
    elif how == "nul":
        fields[3] += "\x00"
    else:
        return ",".join([*fields[:3], '"CUT OFF', *fields[4:]])
    return _record(fields, quote_all=draw(st.booleans()))


@st.composite
def dumps(draw: st.DrawFn, *, min_broken: int = 1) -> Dump:
    """A dump of ROWS with some records broken; odd but valid CSV everywhere else."""
    rows = [i.csv_fields() for i in draw(st.permutations(ROWS))]
    for fields in rows:
        if draw(st.integers(0, 9)) == 0:
            fields[3] = draw(st.sampled_from(['A "Q", B', "TWO\nLINES", "CR\r\nLF", ",", '"']))
    broken_at = set(draw(st.lists(st.integers(0, len(rows) - 1), min_size=min_broken, max_size=4)))
    ends = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    records, broken_lines, good, line = [], [], [], 2
    for index, fields in enumerate(rows):
        earlier = [r[0] for r in rows[:index] if rows.index(r) not in broken_at]
        if index in broken_at:
            text = draw(broken_record(fields, earlier, last=index == len(rows) - 1))
            broken_lines.append(line)
        else:
            text = _record(fields, quote_all=draw(st.integers(0, 4)) == 0)
            good.append(fields)
        records.append(text)
        line += text.count("\n") + 1
    header = ",".join(COLUMNS)
    if draw(st.booleans()):
        header = "\ufeff" + header
    if ends == "mixed":
        body = "".join(r + draw(st.sampled_from(["\n", "\r\n"])) for r in records)
        return Dump(header + "\n" + body, broken_lines, good)
    return Dump(ends.join([header, *records]) + ends, broken_lines, good)


def _load(conn: psycopg.Connection[Any], text: str, **options: Any) -> Any:
    return load_instruments(conn, io.StringIO(text, newline=""), **options)


@FUZZ
@given(dumps())
def test_broken_records_are_named_by_line_and_nothing_changes(
    conn: psycopg.Connection[Any], dump: Dump
) -> None:
    before = _snapshot(conn)
    try:
        with pytest.raises(InvalidDumpRowsError) as caught:
            _load(conn, dump.text)
    finally:
        conn.rollback()
    assert _snapshot(conn) == before
    assert [p.line for p in caught.value.problems] == dump.broken_lines
    assert all(p.reason for p in caught.value.problems)
    message = str(caught.value)
    assert f"{len(dump.broken_lines)} invalid row(s)" in message
    assert all(f"line {line}: " in message for line in dump.broken_lines)


@FUZZ
@given(dumps())
def test_skip_invalid_loads_exactly_the_good_rows(
    conn: psycopg.Connection[Any], dump: Dump
) -> None:
    conn.execute("DELETE FROM instrument_registry")
    conn.execute("DELETE FROM instruments")
    try:
        result = _load(conn, dump.text, skip_invalid=True)
        loaded = conn.execute(
            "SELECT instrument_token, name, last_price, expiry, lot_size FROM instruments"
            " WHERE active ORDER BY instrument_token"
        ).fetchall()
    finally:
        conn.rollback()
    assert [p.line for p in result.invalid] == dump.broken_lines
    expected = sorted((int(f[0]), f[3], Decimal(f[4]), f[5] or None, int(f[8])) for f in dump.good)
    assert [(t, n, p, e.isoformat() if e else None, lot) for t, n, p, e, lot in loaded] == expected


@FUZZ
@given(dumps(min_broken=0))
def test_odd_but_valid_csv_loads_exactly(conn: psycopg.Connection[Any], dump: Dump) -> None:
    valid = [",".join(COLUMNS)] + [_record(f, quote_all=True) for f in dump.good]
    try:
        if dump.broken_lines:
            with pytest.raises(InvalidDumpRowsError):
                _load(conn, dump.text)
            return
        _load(conn, dump.text)
        odd = _snapshot(conn)[0]
        conn.rollback()
        _load(conn, "\n".join(valid) + "\n")
        plain = _snapshot(conn)[0]
    finally:
        conn.rollback()
    # Same rows, values and states whatever the line ends, BOM or quoting (times aside).
    assert [row[:13] for row in odd] == [row[:13] for row in plain]


def _header() -> str:
    return ",".join(COLUMNS)


def _good_text() -> str:
    return "\n".join([_header(), *(_record(i.csv_fields(), False) for i in ROWS)]) + "\n"


def _with_line(number: int, raw: bytes) -> bytes:
    lines = _good_text().encode().split(b"\n")
    lines[number - 1] = raw
    return b"\n".join(lines)


WHOLE_FILE = [
    pytest.param(b"", "the instrument dump is empty: no header line", id="empty"),
    pytest.param(_header().encode() + b"\n", "no valid rows", id="header only"),
    pytest.param(
        _good_text().replace("strike,", "").encode(),
        "line 1: header has 11 column(s)",
        id="missing",
    ),
    pytest.param(
        _good_text().replace("exchange\n", "exchange,extra\n", 1).encode(),
        "line 1: header has 13 column(s)",
        id="extra column",
    ),
    pytest.param(b"\xff\xfe" + _good_text().encode(), "line 1: header is not UTF-8", id="utf-16"),
    pytest.param(
        _with_line(12, b"CAF\xe9,1,X,,1,,0,0.05,1,EQ,NSE,NSE"),
        "line 12: the instrument dump is not UTF-8 text",
        id="latin-1 in a row",
    ),
    pytest.param(_good_text().encode()[:-25], "line 41: expected 12 fields", id="truncated"),
    pytest.param(
        _good_text().encode() + b'5,5,"CUT OFF', "line 42: unterminated quoted field", id="cut"
    ),
]


@pytest.mark.parametrize(("raw", "message"), WHOLE_FILE)
def test_whole_file_breakage_is_a_clear_error_and_changes_nothing(
    conn: psycopg.Connection[Any], tmp_path: Path, raw: bytes, message: str
) -> None:
    path = tmp_path / "dump.csv"
    path.write_bytes(raw)
    before = _snapshot(conn)
    with pytest.raises(InstrumentDumpError) as caught:
        load_instruments(conn, path)
    conn.rollback()
    assert message in str(caught.value)
    assert _snapshot(conn) == before


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("ALPHAP_DATABASE_URL", database_url)
    monkeypatch.setenv("ALPHAP_ENV_FILE", str(tmp_path / "absent.env"))
    monkeypatch.setenv("ALPHAP_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    yield
    structlog.reset_defaults()


@pytest.mark.usefixtures("cli")
@pytest.mark.parametrize(("raw", "message"), WHOLE_FILE[:1] + WHOLE_FILE[2:])
def test_cli_exits_2_with_the_message_and_no_traceback(
    conn: psycopg.Connection[Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    raw: bytes,
    message: str,
) -> None:
    path = tmp_path / "dump.csv"
    path.write_bytes(raw)
    before = _snapshot(conn)
    assert main(["instruments", "load", "--file", str(path)]) == 2
    out, err = capsys.readouterr()
    assert message in err
    assert "Traceback" not in out + err
    conn.rollback()
    assert _snapshot(conn) == before


@pytest.mark.usefixtures("cli")
def test_cli_names_broken_lines_and_skip_invalid_reports_them(
    conn: psycopg.Connection[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = _good_text().splitlines()
    lines[4] = lines[4].replace(",", ",,", 1)
    lines[7] = lines[7] + "\x00"
    lines[-1] = '"' + lines[-1]
    path = tmp_path / "dump.csv"
    path.write_text("\r\n".join(lines) + "\r\n", newline="")
    before = _snapshot(conn)
    assert main(["instruments", "load", "--file", str(path), "--partial"]) == 2
    out, err = capsys.readouterr()
    assert "3 invalid row(s)" in err and "Traceback" not in out + err
    for line in (5, 8, len(lines)):
        assert f"line {line}: " in err
    conn.rollback()
    assert _snapshot(conn) == before
    assert main(["instruments", "load", "--file", str(path), "--partial", "--skip-invalid"]) == 0
    out = capsys.readouterr().out
    assert "skipped 3 invalid row(s):" in out
    assert f"loaded {len(ROWS) - 3} rows" in out
