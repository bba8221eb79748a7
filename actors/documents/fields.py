"""Field types of the ingress contract, each with its bounds.

Where the contract is silent the bounds are ours: identifiers are 1 to 128
characters; instrument tokens fit a PostgreSQL BIGINT and are positive;
quantities are at most 10^12; money has fewer than 20 integer digits and is a
whole number of 10^-8 (trailing zeros beyond the 8th place are allowed, since
they do not change the value). Timestamps are ISO 8601 text that must carry a
whole-minute UTC offset; digits beyond microseconds are dropped, which is
PostgreSQL's resolution. Validators take both the JSON forms (strings, ints,
exact `Decimal`s from the reader) and the Python types, so code can build
documents directly. Error messages never repeat the offending value.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints
from pydantic_core import PydanticCustomError

MAX_ID_LENGTH = 128
MAX_QUANTITY = 10**12
MAX_TOKEN = 2**63 - 1
MONEY_INTEGER_DIGITS = 20
MONEY_PLACES = 8
_MAX_DECIMAL_TEXT = 64
_MAX_TIMESTAMP_TEXT = 64
_MONEY_LIMIT = Decimal(10) ** MONEY_INTEGER_DIGITS
_MONEY_STEP = Decimal(1).scaleb(-MONEY_PLACES)
# A number as JSON and other parsers write it: Python's Decimal alone would also
# take spaces, underscores and non-ASCII digits (fullwidth, Arabic-Indic), which no
# producer means and another parser would read differently or refuse.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise PydanticCustomError("decimal_type", "must be a decimal as a JSON string or number")
    if isinstance(value, str):
        if len(value) > _MAX_DECIMAL_TEXT:
            raise ValueError(f"decimal text longer than {_MAX_DECIMAL_TEXT} characters")
        if not _DECIMAL_TEXT.fullmatch(value):
            raise ValueError("not a decimal number")
        try:
            value = Decimal(value)
        except InvalidOperation:
            raise ValueError("not a decimal number") from None
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError("must be finite")
    if abs(number) >= _MONEY_LIMIT:
        raise ValueError(f"must have fewer than {MONEY_INTEGER_DIGITS + 1} integer digits")
    exponent = number.as_tuple().exponent
    # An exponent of -8 or more is a whole number of steps as it stands (the common case);
    # otherwise only trailing zeros may reach past the 8th place, which the remainder shows.
    if isinstance(exponent, int) and exponent >= -MONEY_PLACES:
        return number
    with localcontext(prec=100):
        whole_steps = number % _MONEY_STEP == 0
    if not whole_steps:
        raise ValueError(f"must have at most {MONEY_PLACES} decimal places")
    return number


def _to_uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str) or len(value) > 45:
        raise ValueError("must be a UUID string")
    try:
        return UUID(value)
    except ValueError:
        raise ValueError("not a valid UUID") from None


def _to_timestamp(value: Any) -> datetime:
    if isinstance(value, str):
        if len(value) > _MAX_TIMESTAMP_TEXT:
            raise ValueError(f"timestamp text longer than {_MAX_TIMESTAMP_TEXT} characters")
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("not an ISO 8601 timestamp") from None
    if not isinstance(value, datetime):
        raise PydanticCustomError("datetime_type", "must be an ISO 8601 timestamp string")
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("timestamp must carry a UTC offset")
    if offset % timedelta(minutes=1):
        raise ValueError("UTC offset must be a whole number of minutes")
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("timestamp is out of range") from None
    return value


def _positive(number: Decimal) -> Decimal:
    if number <= 0:
        raise ValueError("must be greater than 0")
    return number


def _not_negative(number: Decimal) -> Decimal:
    if number < 0:
        raise ValueError("must not be negative")
    return number


def _plain_decimal(number: Decimal) -> str:
    return format(number, "f")


_Money = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    Field(strict=True),
    PlainSerializer(_plain_decimal, return_type=str),
]

Identifier = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=MAX_ID_LENGTH)]
"""An id or name: a JSON string of 1 to 128 characters."""

InstrumentToken = Annotated[int, Field(strict=True, ge=1, le=MAX_TOKEN)]
"""A JSON integer (never a bool, float or string) that fits a BIGINT."""

Quantity = Annotated[int, Field(strict=True, ge=1, le=MAX_QUANTITY)]
"""Units of a fill: a JSON integer from 1 to 10^12."""

Price = Annotated[_Money, AfterValidator(_positive)]
"""Money greater than 0, exact."""

Fees = Annotated[_Money, AfterValidator(_not_negative)]
"""Money of at least 0, exact."""

EventId = Annotated[
    UUID, BeforeValidator(_to_uuid), Field(strict=True), PlainSerializer(str, return_type=str)
]
"""A UUID in its string form."""

Timestamp = Annotated[
    datetime,
    BeforeValidator(_to_timestamp),
    Field(strict=True),
    PlainSerializer(datetime.isoformat, return_type=str),
]
"""An ISO 8601 instant with its UTC offset."""

BrokerNamespace = Literal["paper", "zerodha"]
Side = Literal["BUY", "SELL"]
