"""Validation of staged rows in SQL.

A row is valid when its integers and decimals are PostgreSQL numbers >= 0
(decimals finite), its expiry is empty or a real YYYY-MM-DD date, its
required text is not empty, and no earlier row has its instrument_token.
`stage_is_valid` asks that of the typed stage in one cheap scan (`row_is_valid`
is its condition for one row, which a first load puts in its INSERT); `validate`
finds every problem in the TEXT stage of the slow path, with line numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg

from persistence.instruments import session
from persistence.instruments.errors import InvalidRow
from persistence.instruments.staging import STAGE, TEXT_STAGE

_REQUIRED = ("tradingsymbol", "instrument_type", "segment", "exchange")
_INTEGERS = (("instrument_token", "bigint"), ("exchange_token", "bigint"), ("lot_size", "integer"))
_DECIMALS = ("last_price", "strike", "tick_size")
_EXPIRY_OK = (
    "(expiry = '' OR (length(expiry) = 10 AND substr(expiry, 5, 1) = '-'"
    " AND substr(expiry, 8, 1) = '-' AND translate(expiry, '0123456789', '') = '--'"
    " AND pg_input_is_valid(expiry, 'date')))"
)

# A bad expiry makes the cast raise, which also means "not valid". Comparing the
# date's text with the field is exact only when dates print as ISO; to_char is
# slower but does not depend on the session's DateStyle.
_ISO_EXPIRY_OK = "(expiry = '' OR expiry::date::text = expiry)"
_ANY_EXPIRY_OK = "(expiry = '' OR to_char(expiry::date, 'YYYY-MM-DD') = expiry)"
_TYPED_OK = " AND ".join(
    [f"{c} >= 0" for c, _ in _INTEGERS]
    + [f"{c} >= 0 AND {c} < 'Infinity'" for c in _DECIMALS]
    + [f"{c} <> ''" for c in _REQUIRED]
)
_ROW_IS_VALID = {
    iso: f"({_TYPED_OK} AND {expiry_ok})"
    for iso, expiry_ok in ((True, _ISO_EXPIRY_OK), (False, _ANY_EXPIRY_OK))
}
# One hash aggregate finds duplicate tokens and invalid rows in the same scan.
_ANY_INVALID = {
    iso: f"SELECT EXISTS (SELECT 1 FROM {STAGE} GROUP BY instrument_token"  # noqa: S608 - constants
    f" HAVING count(*) > 1 OR NOT bool_and({valid}))"
    for iso, valid in _ROW_IS_VALID.items()
}


def _integer(column: str, kind: str) -> tuple[str, str]:
    bad = f"CASE WHEN pg_input_is_valid({column}, '{kind}') THEN {column}::{kind} < 0 ELSE true END"
    return bad, _reason(column, "a whole number >= 0")


def _decimal(column: str) -> tuple[str, str]:
    bad = (
        f"CASE WHEN pg_input_is_valid({column}, 'numeric')"
        f" THEN NOT ({column}::numeric >= 0 AND {column}::numeric < 'Infinity') ELSE true END"
    )
    return bad, _reason(column, "a decimal number >= 0")


def _reason(column: str, what: str) -> str:
    return (
        f"CASE WHEN {column} = '' THEN '{column} is empty'"
        f" ELSE format('{column} %L is not {what}', left({column}, 40)) END"
    )


_CHECKS: tuple[tuple[str, str], ...] = (
    *(_integer(c, kind) for c, kind in _INTEGERS),
    *(_decimal(c) for c in _DECIMALS),
    (f"NOT {_EXPIRY_OK}", "format('expiry %L is not a date YYYY-MM-DD', left(expiry, 40))"),
    *((f"{c} = ''", f"'{c} is empty'") for c in _REQUIRED),
)

_PROBLEMS = (
    "SELECT ordinal, line, concat_ws('; ', "  # noqa: S608 - constant expressions only
    + ", ".join(f"CASE WHEN {bad} THEN {reason} END" for bad, reason in _CHECKS)
    + f") FROM {TEXT_STAGE} WHERE "
    + " OR ".join(f"({bad})" for bad, _ in _CHECKS)
)

_DUPLICATES = (
    "SELECT array_agg(ordinal ORDER BY ordinal), array_agg(line ORDER BY ordinal)"  # noqa: S608 - constants only
    f" FROM {TEXT_STAGE} WHERE pg_input_is_valid(instrument_token, 'bigint')"
    " GROUP BY CASE WHEN pg_input_is_valid(instrument_token, 'bigint')"
    " THEN instrument_token::bigint END HAVING count(*) > 1"
)


def row_is_valid(conn: psycopg.Connection[Any]) -> str:
    """The SQL condition for a valid row of the typed stage, for this session's DateStyle.

    Evaluating it raises psycopg.DataError for an expiry that is not a date at all.
    """
    return _ROW_IS_VALID[_iso_dates(conn)]


def stage_is_valid(conn: psycopg.Connection[Any]) -> bool:
    """Whether every row of the typed stage is valid and no two share an instrument_token.

    Raises psycopg.DataError for an expiry that is not a date at all.
    """
    with session.work_mem(conn):
        row = conn.execute(_ANY_INVALID[_iso_dates(conn)]).fetchone()
    return row is not None and not row[0]


def _iso_dates(conn: psycopg.Connection[Any]) -> bool:
    return (conn.info.parameter_status("DateStyle") or "").startswith("ISO")


@dataclass(frozen=True)
class Validation:
    """The invalid rows of the TEXT stage: their reports and their ordinals, by line."""

    problems: list[InvalidRow]
    ordinals: list[int]


def validate(conn: psycopg.Connection[Any]) -> Validation:
    """Find every invalid row of the TEXT stage (the slow path's)."""
    found: dict[int, tuple[int, list[str]]] = {}
    for ordinal, line, reason in conn.execute(_PROBLEMS):
        found[ordinal] = (line, [reason])
    for ordinals, lines in conn.execute(_DUPLICATES):
        for ordinal, line in zip(ordinals[1:], lines[1:], strict=True):
            reasons = found.setdefault(ordinal, (line, []))[1]
            reasons.append(f"duplicate instrument_token (first on line {lines[0]})")
    ordered = sorted(found, key=lambda o: found[o][0])
    problems = [InvalidRow(found[o][0], "; ".join(found[o][1])) for o in ordered]
    return Validation(problems, ordered)
