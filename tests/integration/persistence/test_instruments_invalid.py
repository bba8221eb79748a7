"""Bad instrument dumps: clear errors with physical line numbers, nothing changed; or skipped."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from persistence.instruments import (
    COLUMNS,
    InstrumentDumpError,
    InvalidDumpRowsError,
    InvalidRow,
    load_instruments,
)

HEADER = ",".join(COLUMNS)
GOOD = [
    "256265,1001,NIFTY 50,NIFTY 50,0.0,,0.0,0.0,0,EQ,INDICES,NSE",
    "25601,100,ARE&M,AMARA RAJA ENERGY MOB,0.0,,0.0,0.05,1,EQ,NSE,NSE",
    '12073986,47164,BANKNIFTY18JAN23500CE,"BANK, NIFTY",2528.4,2018-01-25,23500.0,0.05,40,'
    "CE,NFO-OPT,NFO",
]


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url) as connection:
        load_instruments(connection, io.StringIO("\n".join([HEADER, *GOOD]) + "\n"))
        connection.commit()
        yield connection


def _snapshot(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute("SELECT * FROM instruments ORDER BY instrument_token").fetchall()


def _problems(conn: psycopg.Connection[Any], text: str) -> tuple[InvalidRow, ...]:
    before = _snapshot(conn)
    with pytest.raises(InvalidDumpRowsError) as caught:
        load_instruments(conn, io.StringIO(text))
    conn.rollback()
    assert _snapshot(conn) == before
    return caught.value.problems


def _dump(*rows: str, end: str = "\n") -> str:
    return end.join([HEADER, *rows]) + end


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("1,2,X,,abc,,0,0.05,1,EQ,NSE,NSE", "last_price 'abc' is not a decimal number >= 0"),
        ("1,2,X,,-1.5,,0,0.05,1,EQ,NSE,NSE", "last_price '-1.5' is not a decimal number >= 0"),
        ("1,2,X,,NaN,,0,0.05,1,EQ,NSE,NSE", "last_price 'NaN' is not a decimal number >= 0"),
        ("1,2,X,,1,,0,0.05,1.5,EQ,NSE,NSE", "lot_size '1.5' is not a whole number >= 0"),
        ("x1,2,X,,1,,0,0.05,1,EQ,NSE,NSE", "instrument_token 'x1' is not a whole number >= 0"),
        (",2,X,,1,,0,0.05,1,EQ,NSE,NSE", "instrument_token is empty"),
        ("1,2,,,1,,0,0.05,1,EQ,NSE,NSE", "tradingsymbol is empty"),
        ("1,2,X,,1,,0,0.05,1,EQ,NSE,", "exchange is empty"),
        ("1,2,X,,1,2025-02-30,0,0.05,1,CE,NFO-OPT,NFO", "expiry '2025-02-30' is not a date"),
        ("1,2,X,,1,06-10-2025,0,0.05,1,CE,NFO-OPT,NFO", "expiry '06-10-2025' is not a date"),
        ("1,2,X,,1,2025-1-5,0,0.05,1,CE,NFO-OPT,NFO", "expiry '2025-1-5' is not a date"),
        ("1,2,X,,1,soon,0,0.05,1,CE,NFO-OPT,NFO", "expiry 'soon' is not a date"),
        ("1,2,X,,1,,0,0.05,1,EQ,NSE,NSE,extra", "expected 12 fields, found 13"),
        ("1,2,X,,1,,0,0.05", "expected 12 fields, found 8"),
        ("", "blank line"),
    ],
)
def test_each_kind_of_bad_row_is_reported_on_its_line(
    conn: psycopg.Connection[Any], row: str, reason: str
) -> None:
    problems = _problems(conn, _dump(GOOD[0], row, GOOD[1]))
    assert len(problems) == 1
    assert problems[0].line == 3
    assert problems[0].reason.startswith(reason)


def test_duplicate_token_names_the_first_line(conn: psycopg.Connection[Any]) -> None:
    problems = _problems(conn, _dump(*GOOD, GOOD[1].replace("ARE&M", "OTHER")))
    assert problems == (InvalidRow(5, "duplicate instrument_token (first on line 3)"),)


def test_line_numbers_count_quoted_newlines_with_crlf(conn: psycopg.Connection[Any]) -> None:
    multiline = '7,8,ML,"TWO\r\nLINES",1.0,,0.0,0.05,1,EQ,NSE,NSE'
    text = _dump(multiline, GOOD[0], "9,9,BAD,,oops,,0,0.05,1,EQ,NSE,NSE", end="\r\n")
    assert _problems(conn, text) == (
        InvalidRow(5, "last_price 'oops' is not a decimal number >= 0"),
    )
    text = _dump(multiline, "9,9,SHORT", end="\r\n")
    assert _problems(conn, text) == (InvalidRow(4, "expected 12 fields, found 3"),)


def test_crlf_and_quoted_newlines_load_exactly(conn: psycopg.Connection[Any]) -> None:
    text = _dump(
        '7,8,ML,"TWO\nLINES, ""QUOTED""",1.25,2025-10-30,0.0,0.05,1,EQ,NSE,NSE', end="\r\n"
    )
    load_instruments(conn, io.StringIO(text), full=False)
    row = conn.execute("SELECT name, last_price FROM instruments WHERE instrument_token = 7")
    assert row.fetchone() == ('TWO\nLINES, "QUOTED"', Decimal("1.25"))


def test_truncated_file_is_reported(conn: psycopg.Connection[Any]) -> None:
    cut = _dump(*GOOD)[:-30]
    problems = _problems(conn, cut)
    assert problems == (InvalidRow(4, "expected 12 fields, found 7"),)
    unterminated = _dump(GOOD[0]) + '5,5,"CUT OFF'
    assert _problems(conn, unterminated) == (
        InvalidRow(3, "unterminated quoted field at the end of the file (truncated?)"),
    )


def test_all_problems_are_counted_and_the_first_listed(conn: psycopg.Connection[Any]) -> None:
    bad = [f"{n},{n},S{n},,-1,,0,0.05,1,EQ,NSE,NSE" for n in range(1000, 1030)]
    problems = _problems(conn, _dump(*bad, "1,2,SHORT"))
    assert len(problems) == 31
    assert [p.line for p in problems] == list(range(2, 33))
    with pytest.raises(InvalidDumpRowsError) as caught:
        load_instruments(conn, io.StringIO(_dump(*bad)))
    message = str(caught.value)
    assert message.startswith("30 invalid row(s) in the instrument dump, nothing loaded:")
    assert "line 2: last_price '-1'" in message
    assert "... and 10 more" in message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty: no header"),
        ("token,name\n1,x\n", "line 1: header has 2 column(s)"),
        (HEADER.replace("strike", "strike_price") + "\n", "line 1: header has 12 column(s)"),
    ],
)
def test_wrong_header_is_refused(conn: psycopg.Connection[Any], text: str, message: str) -> None:
    before = _snapshot(conn)
    with pytest.raises(InstrumentDumpError, match=re.escape(message)):
        load_instruments(conn, io.StringIO(text))
    conn.rollback()
    assert _snapshot(conn) == before


def test_skip_invalid_loads_the_rest_and_reports(conn: psycopg.Connection[Any]) -> None:
    text = _dump(
        GOOD[0],
        "5,5,NEW,,1.5,,0,0.05,1,EQ,NSE,NSE",
        "6,6,BAD,,x,,0,0.05,1,EQ,NSE,NSE",
        GOOD[1].replace("0.05", "-0.05"),
        "7,7",
    )
    result = load_instruments(conn, io.StringIO(text), skip_invalid=True)
    conn.commit()
    assert [p.line for p in result.invalid] == [4, 5, 6]
    assert (result.rows, result.inserted, result.unchanged, result.deactivated) == (2, 1, 1, 1)
    active = dict(conn.execute("SELECT instrument_token, active FROM instruments").fetchall())
    # ARE&M's row was listed (though invalid), so it stays active; the derivative was not.
    assert active == {256265: True, 25601: True, 12073986: False, 5: True}


def test_invalid_utf8_is_refused(conn: psycopg.Connection[Any], tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(_dump(GOOD[0]).encode() + b"5,5,CAF\xe9,,1,,0,0.05,1,EQ,NSE,NSE\n")
    with pytest.raises(InstrumentDumpError, match="not UTF-8"):
        load_instruments(conn, path)
