"""The ingress contract: what parses, exactly how, and that every refusal is our error."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from actors.documents import (
    MarketTick,
    OrderFilled,
    TradingEvent,
    dump_document,
    parse_document,
    parse_journaled_fill,
)
from actors.documents.json_text import MAX_DEPTH, MAX_DOCUMENT_BYTES
from actors.errors import InvalidDocumentError

EVENT_ID = "6f1c7f3e-9a43-4b8e-8f5a-0c2b2a7d9e11"
SECRET = "s3cr3t-Tok3n-value"  # noqa: S105 - a marker that must never appear in a reason

FILL: dict[str, Any] = {
    "type": "order_filled",
    "event_id": EVENT_ID,
    "broker_namespace": "paper",
    "portfolio_id": "p-1",
    "strategy_id": "momentum",
    "instrument_token": 256265,
    "side": "BUY",
    "quantity": 10,
    "price": "100.10",
    "filled_at": "2026-11-27T09:15:00+05:30",
}
TICK: dict[str, Any] = {
    "type": "market_tick",
    "instrument_token": 256265,
    "last_price": "101.05",
    "timestamp": "2026-11-27T09:15:01Z",
}
EVENT: dict[str, Any] = {
    "type": "trading_event",
    "event_id": EVENT_ID,
    "event_type": "signal_generated",
    "broker_namespace": "zerodha",
    "event_timestamp": "2026-11-27T09:15:00.123456+05:30",
    "event_data": {"signal": "long", "score": 0.75, "levels": [1, 2.50, None, True]},
}
DOCUMENTS = {"order_filled": FILL, "market_tick": TICK, "trading_event": EVENT}


def parse(document: dict[str, Any]) -> Any:
    return parse_document(json.dumps(document))


def parse_text(raw: str | bytes) -> Any:
    return parse_document(raw)


def refused(document: dict[str, Any] | str | bytes) -> str:
    raw = document if isinstance(document, str | bytes) else json.dumps(document)
    with pytest.raises(InvalidDocumentError) as caught:
        parse_document(raw)
    return caught.value.reason


def with_field(base: dict[str, Any], name: str, value: Any) -> dict[str, Any]:
    return {**base, name: value}


def without(base: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in base.items() if key != name}


# --- valid documents -------------------------------------------------------------------------


def test_fill_parses_with_defaults() -> None:
    fill = parse(FILL)
    assert isinstance(fill, OrderFilled)
    assert fill.event_id == uuid.UUID(EVENT_ID)
    assert fill.quantity == 10
    assert str(fill.price) == "100.10"
    assert fill.fees == 0
    assert fill.filled_at == datetime(2026, 11, 27, 3, 45, tzinfo=UTC)
    assert fill.filled_at.utcoffset() == timedelta(hours=5, minutes=30)
    assert fill.order_id is None
    assert fill.correlation_id is None


def test_fill_with_every_optional_field() -> None:
    fill = parse({**FILL, "fees": "20.25", "order_id": "240101000000001", "correlation_id": "c"})
    assert fill.fees == Decimal("20.25")
    assert fill.order_id == "240101000000001"
    assert fill.correlation_id == "c"


def test_null_optional_fields_mean_absent() -> None:
    fill = parse({**FILL, "fees": None, "order_id": None, "correlation_id": None})
    assert fill == parse(FILL)


def test_json_numbers_are_exact_decimals_never_floats() -> None:
    fill = parse_text(json.dumps(without(FILL, "price"))[:-1] + ', "price": 0.1}')
    assert fill.price == Decimal("0.1")
    assert str(fill.price) == "0.1"
    raw = json.dumps(without(FILL, "price"))[:-1] + ', "price": 100.10, "fees": 3}'
    fill = parse_text(raw)
    assert str(fill.price) == "100.10"
    assert fill.fees == Decimal(3)


def test_tick_parses() -> None:
    tick = parse(TICK)
    assert isinstance(tick, MarketTick)
    assert tick.last_price == Decimal("101.05")
    assert tick.timestamp == datetime(2026, 11, 27, 9, 15, 1, tzinfo=UTC)


def test_trading_event_keeps_numbers_exact() -> None:
    event = parse_document(json.dumps(EVENT).replace("2.5", "2.50"))
    assert isinstance(event, TradingEvent)
    assert event.event_data["score"] == Decimal("0.75")
    assert isinstance(event.event_data["score"], Decimal)
    assert str(event.event_data["levels"][1]) == "2.50"
    assert event.event_data["levels"][0] == 1
    assert event.strategy_id is None
    assert event.instrument_token is None


def test_trading_event_with_optional_fields() -> None:
    event = parse({**EVENT, "strategy_id": "s", "instrument_token": 5, "correlation_id": "c"})
    assert (event.strategy_id, event.instrument_token, event.correlation_id) == ("s", 5, "c")


def test_bytes_are_read_as_utf8() -> None:
    document = {**FILL, "portfolio_id": "पोर्टफोलियो"}
    assert parse_text(json.dumps(document, ensure_ascii=False).encode()).portfolio_id == (
        "पोर्टफोलियो"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-27T09:15:00Z", datetime(2026, 11, 27, 9, 15, tzinfo=UTC)),
        ("2026-11-27T09:15:00+00:00", datetime(2026, 11, 27, 9, 15, tzinfo=UTC)),
        ("2026-11-27 09:15:00-04:00", datetime(2026, 11, 27, 13, 15, tzinfo=UTC)),
        ("2026-11-27T09:15:00.5+05:30", datetime(2026, 11, 27, 3, 45, 0, 500000, tzinfo=UTC)),
        # Beyond microseconds is dropped: PostgreSQL keeps microseconds.
        ("2026-11-27T09:15:00.123456789Z", datetime(2026, 11, 27, 9, 15, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_with_an_offset(text: str, expected: datetime) -> None:
    assert parse(with_field(TICK, "timestamp", text)).timestamp == expected


def test_boundaries_that_are_still_valid() -> None:
    fill = parse(
        {
            **FILL,
            "instrument_token": 2**63 - 1,
            "quantity": 10**12,
            "price": "99999999999999999999.99999999",
            "portfolio_id": "p" * 128,
        }
    )
    assert fill.price == Decimal("99999999999999999999.99999999")
    assert parse(with_field(FILL, "price", "0.00000001")).price == Decimal("1E-8")
    assert str(parse(with_field(FILL, "price", "100.100000000")).price) == "100.100000000"
    assert parse(with_field(FILL, "price", "1E+3")).price == 1000


# --- invalid documents -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_id", "not-a-uuid"),
        ("event_id", 12345),
        ("event_id", None),
        ("broker_namespace", "Paper"),
        ("broker_namespace", "kite"),
        ("portfolio_id", ""),
        ("portfolio_id", "p" * 129),
        ("portfolio_id", 7),
        ("strategy_id", None),
        ("instrument_token", True),
        ("instrument_token", 1.0),
        ("instrument_token", "256265"),
        ("instrument_token", 0),
        ("instrument_token", -1),
        ("instrument_token", 2**63),
        ("side", "buy"),
        ("side", "HOLD"),
        ("quantity", 0),
        ("quantity", -5),
        ("quantity", 1.5),
        ("quantity", True),
        ("quantity", "10"),
        ("quantity", 10**12 + 1),
        ("price", 0),
        ("price", "0"),
        ("price", "-1"),
        ("price", "NaN"),
        ("price", "Infinity"),
        ("price", "-Infinity"),
        ("price", "sNaN"),
        ("price", "1E+20"),
        ("price", "100000000000000000000"),
        ("price", "0.000000001"),
        ("price", "abc"),
        ("price", "1" * 65),
        ("price", True),
        ("price", None),
        ("price", []),
        ("fees", "-0.01"),
        ("fees", "x"),
        ("filled_at", "2026-11-27T09:15:00"),
        ("filled_at", "2026-11-27"),
        ("filled_at", "yesterday"),
        ("filled_at", 1764234900),
        ("filled_at", "2026-11-27T09:15:00+05:30:15"),
        ("filled_at", "0001-01-01T00:00:00+05:30"),
        ("order_id", ""),
        ("correlation_id", 5),
    ],
)
def test_fill_field_rules(field: str, value: Any) -> None:
    reason = refused(with_field(FILL, field, value))
    assert f"order_filled.{field}" in reason


@pytest.mark.parametrize("field", [f for f in FILL if f != "type"])
def test_every_required_fill_field(field: str) -> None:
    assert f"order_filled.{field}: Field required" in refused(without(FILL, field))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instrument_token", "1"),
        ("last_price", "0"),
        ("last_price", "-0.05"),
        ("timestamp", "2026-11-27T09:15:01"),
    ],
)
def test_tick_field_rules(field: str, value: Any) -> None:
    assert f"market_tick.{field}" in refused(with_field(TICK, field, value))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_type", ""),
        ("event_type", "order_filled"),
        ("broker_namespace", "paper "),
        ("instrument_token", False),
        ("event_timestamp", "2026-11-27T09:15:00"),
        ("event_data", []),
        ("event_data", "{}"),
        ("event_data", None),
        ("strategy_id", ""),
    ],
)
def test_trading_event_field_rules(field: str, value: Any) -> None:
    assert f"trading_event.{field}" in refused(with_field(EVENT, field, value))


@pytest.mark.parametrize("field", ["event_id", "event_type", "broker_namespace", "event_data"])
def test_every_required_trading_event_field(field: str) -> None:
    assert f"trading_event.{field}" in refused(without(EVENT, field))


@pytest.mark.parametrize("kind", list(DOCUMENTS))
def test_unknown_fields_are_refused(kind: str) -> None:
    assert f"{kind}.surplus: Extra inputs are not permitted" in refused(
        with_field(DOCUMENTS[kind], "surplus", 1)
    )


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "{",
        "[]",
        "null",
        '"order_filled"',
        "42",
        '{"type": "order_cancelled"}',
        '{"type": 1}',
        '{"type": null}',
        "{}",
        b"\xff\xfe",
        b"\xef\xbb\xbf{}",
        '{"type": "market_tick"} trailing',
        '{"type": "trading_event", "x": NaN}',
        '{"type": "trading_event", "x": Infinity}',
        '{"type": "trading_event", "x": -Infinity}',
        '{"type": "market_tick", "type": "market_tick"}',
    ],
)
def test_malformed_documents(raw: str | bytes) -> None:
    assert refused(raw)


def test_duplicate_keys_are_refused_even_when_nested() -> None:
    raw = json.dumps(EVENT).replace('"signal": "long"', '"signal": "long", "signal": "short"')
    assert "repeats a key" in refused(raw)


@pytest.mark.parametrize(
    "value", ["nul\u0000inside", "lone \ud800 surrogate"], ids=["nul", "surrogate"]
)
def test_strings_postgresql_cannot_store_are_refused(value: str) -> None:
    refused(with_field(EVENT, "event_data", {"note": value}))
    refused(with_field(EVENT, "event_data", {value: 1}))
    refused(with_field(FILL, "order_id", value))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (json.dumps(EVENT, ensure_ascii=False).replace('"long"', '"a\ud800b"'), "surrogate"),
        (json.dumps(EVENT).replace('"long"', '"a\\u0000b"').encode(), "NUL"),
        (json.dumps(EVENT).replace('"long"', '"a\\ud800b"').encode(), "surrogate"),
        (json.dumps(EVENT).replace('"long"', '"a\x00b"').encode(), "control character"),
        (json.dumps(EVENT).encode().replace(b'"long"', b'"a\xed\xa0\x80b"'), "not UTF-8"),
    ],
    ids=["raw-surrogate-text", "escaped-nul-bytes", "escaped-surrogate-bytes", "raw-nul", "utf8"],
)
def test_unstorable_strings_are_refused_in_every_raw_form(raw: str | bytes, reason: str) -> None:
    assert reason in refused(raw)


@pytest.mark.parametrize(
    "number",
    ["1e999999", "1e-999999", "1" * 41, "-" + "1" * 41, "0." + "1" * 41],
)
def test_absurd_numbers_in_event_data_are_refused(number: str) -> None:
    raw = json.dumps(EVENT).replace("0.75", number)
    assert "number" in refused(raw)


def test_number_bounds_in_event_data_are_inclusive() -> None:
    raw = json.dumps(EVENT).replace("0.75", "9" * 40)
    assert parse_text(raw).event_data["score"] == 10**40 - 1


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_depth_limit_counts_the_document_itself() -> None:
    deepest = parse(with_field(EVENT, "event_data", nested(MAX_DEPTH - 1)))
    assert isinstance(deepest, TradingEvent)
    assert "nested deeper" in refused(with_field(EVENT, "event_data", nested(MAX_DEPTH)))


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = '[{"\\"[' * 100 + "\\\\"
    event = parse(with_field(EVENT, "event_data", {"text": text}))
    assert event.event_data["text"] == text


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 30000])
def test_deep_nesting_is_refused_before_parsing(depth: int) -> None:
    assert "nested deeper" in refused("[" * depth + "]" * depth)
    assert "nested deeper" in refused("[" * depth)
    assert "nested deeper" in refused(('{"a":' * depth + "1" + "}" * depth)[:MAX_DOCUMENT_BYTES])


def padded(total: int) -> str:
    base = json.dumps(with_field(EVENT, "event_data", {"pad": ""}), separators=(",", ":"))
    return base.replace('"pad":""', '"pad":"' + "x" * (total - len(base)) + '"')


def test_size_limit() -> None:
    assert isinstance(parse_document(padded(MAX_DOCUMENT_BYTES)), TradingEvent)
    assert isinstance(parse_document(padded(MAX_DOCUMENT_BYTES).encode()), TradingEvent)
    assert "larger than" in refused(padded(MAX_DOCUMENT_BYTES + 1))
    assert "larger than" in refused(padded(MAX_DOCUMENT_BYTES + 1).encode())


def test_size_limit_counts_utf8_bytes() -> None:
    text = padded(MAX_DOCUMENT_BYTES).replace("x", "é", 1)
    assert len(text) == MAX_DOCUMENT_BYTES
    assert "larger than" in refused(text)


# --- refusals never repeat values ------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "field"),
    [
        (FILL, "broker_namespace"),
        (FILL, "side"),
        (FILL, "price"),
        (FILL, "fees"),
        (FILL, "event_id"),
        (FILL, "filled_at"),
        (FILL, "instrument_token"),
        (FILL, "unexpected"),
        (FILL, "type"),
        (TICK, "last_price"),
        (EVENT, "event_timestamp"),
        (EVENT, "event_data"),
    ],
)
def test_reasons_never_echo_values(document: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidDocumentError) as caught:
        parse(with_field(document, field, SECRET))
    assert SECRET not in str(caught.value)
    assert SECRET not in repr(caught.value)
    assert caught.value.__cause__ is None


def test_json_syntax_errors_do_not_echo_the_text() -> None:
    reason = refused('{"access_token": "' + SECRET + '" oops}')
    assert SECRET not in reason
    assert "not JSON" in reason


def test_reason_names_every_field_at_fault() -> None:
    reason = refused({**FILL, "side": "x", "quantity": 0, "price": "-1"})
    assert "order_filled.side" in reason
    assert "order_filled.quantity" in reason
    assert "order_filled.price: must be greater than 0" in reason


# --- journal records -------------------------------------------------------------------------


def test_fill_journal_record_holds_the_replayable_fill() -> None:
    fill = parse({**FILL, "fees": 1.5, "correlation_id": "corr-9"})
    record = fill.to_journal_record()
    assert record == {
        "event_id": uuid.UUID(EVENT_ID),
        "event_type": "order_filled",
        "broker_namespace": "paper",
        "portfolio_id": "p-1",
        "strategy_id": "momentum",
        "instrument_token": 256265,
        "correlation_id": "corr-9",
        "event_timestamp": fill.filled_at,
        "event_data": {
            "type": "order_filled",
            "event_id": EVENT_ID,
            "broker_namespace": "paper",
            "portfolio_id": "p-1",
            "strategy_id": "momentum",
            "instrument_token": 256265,
            "side": "BUY",
            "quantity": 10,
            "price": "100.10",
            "fees": "1.5",
            "filled_at": "2026-11-27T09:15:00+05:30",
            "correlation_id": "corr-9",
        },
    }
    # Plain JSON (no Decimal left), as a JSONB column and another program need it.
    stored = json.loads(json.dumps(record["event_data"]))
    assert parse_journaled_fill(stored) == fill


def test_trading_event_journal_record() -> None:
    event = parse({**EVENT, "strategy_id": "s", "instrument_token": 7, "correlation_id": "c"})
    record = event.to_journal_record()
    assert record == {
        "event_id": uuid.UUID(EVENT_ID),
        "event_type": "signal_generated",
        "broker_namespace": "zerodha",
        "portfolio_id": None,
        "strategy_id": "s",
        "instrument_token": 7,
        "correlation_id": "c",
        "event_timestamp": event.event_timestamp,
        "event_data": {
            "signal": "long",
            "score": Decimal("0.75"),
            "levels": [1, Decimal("2.5"), None, True],
        },
    }


def test_journaled_fill_must_be_a_valid_fill() -> None:
    with pytest.raises(InvalidDocumentError):
        parse_journaled_fill(EVENT)
    with pytest.raises(InvalidDocumentError):
        parse_journaled_fill({**FILL, "price": 100.1})
    with pytest.raises(InvalidDocumentError):
        parse_journaled_fill(without(FILL, "price"))


def test_documents_are_frozen() -> None:
    fill = parse(FILL)
    with pytest.raises(ValueError, match="frozen"):
        fill.quantity = 5


# --- property tests --------------------------------------------------------------------------


@dataclass(frozen=True)
class RawNumber:
    """A decimal to be written into the JSON text as a number, digit for digit."""

    value: Decimal


def encode(value: Any) -> str:
    if isinstance(value, RawNumber):
        return str(value.value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(encode(v) for v in value) + "]"
    return json.dumps(value)


def decimals(places: int = 8, minimum: int = 1) -> st.SearchStrategy[Decimal]:
    return st.integers(0, places).flatmap(
        lambda scale: st.integers(minimum, 10 ** (20 + scale) - 1).map(
            lambda units: Decimal(units).scaleb(-scale)
        )
    )


def as_json_decimal(value: Decimal) -> st.SearchStrategy[Any]:
    return st.sampled_from([str(value), RawNumber(value)])


offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31), timezones=offsets
)
identifiers = st.text(
    st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), min_size=1, max_size=128
)
tokens = st.integers(1, 2**63 - 1)


def timestamp_text(instant: datetime) -> st.SearchStrategy[str]:
    iso = instant.isoformat()
    forms = [iso]
    if instant.utcoffset() == timedelta(0):
        forms.append(iso.replace("+00:00", "Z"))
    return st.sampled_from(forms)


@st.composite
def optional(draw: st.DrawFn, document: dict[str, Any], name: str, values: Any) -> Any:
    choice = draw(st.sampled_from(["absent", "null", "present"]))
    if choice == "present":
        value = draw(values)
        document[name] = value
        return value
    if choice == "null":
        document[name] = None
    return None


@st.composite
def fills(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    expected: dict[str, Any] = {
        "event_id": draw(st.uuids()),
        "broker_namespace": draw(st.sampled_from(["paper", "zerodha"])),
        "portfolio_id": draw(identifiers),
        "strategy_id": draw(identifiers),
        "instrument_token": draw(tokens),
        "side": draw(st.sampled_from(["BUY", "SELL"])),
        "quantity": draw(st.integers(1, 10**12)),
        "price": draw(decimals()),
        "filled_at": draw(instants),
    }
    document: dict[str, Any] = {
        "type": "order_filled",
        **expected,
        "event_id": str(expected["event_id"]),
        "price": draw(as_json_decimal(expected["price"])),
        "filled_at": draw(timestamp_text(expected["filled_at"])),
    }
    fees = draw(optional(document, "fees", decimals(minimum=0)))
    expected["fees"] = fees if fees is not None else Decimal(0)
    if fees is not None:
        document["fees"] = draw(as_json_decimal(fees))
    expected["order_id"] = draw(optional(document, "order_id", identifiers))
    expected["correlation_id"] = draw(optional(document, "correlation_id", identifiers))
    return encode(draw(st.permutations(list(document.items())).map(dict))), expected


@st.composite
def ticks(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    expected: dict[str, Any] = {
        "instrument_token": draw(tokens),
        "last_price": draw(decimals()),
        "timestamp": draw(instants),
    }
    document = {
        "type": "market_tick",
        "instrument_token": expected["instrument_token"],
        "last_price": draw(as_json_decimal(expected["last_price"])),
        "timestamp": draw(timestamp_text(expected["timestamp"])),
    }
    return encode(document), expected


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(10**40) + 1, 10**40 - 1)
    | st.decimals(allow_nan=False, allow_infinity=False, places=6).map(RawNumber)
    | identifiers
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(identifiers, inner, max_size=4),
    max_leaves=20,
)


def plain(value: Any) -> Any:
    if isinstance(value, RawNumber):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


@st.composite
def trading_events(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    event_data = draw(st.dictionaries(identifiers, json_values, max_size=5))
    expected: dict[str, Any] = {
        "event_id": draw(st.uuids()),
        "event_type": draw(identifiers.filter(lambda name: name != "order_filled")),
        "broker_namespace": draw(st.sampled_from(["paper", "zerodha"])),
        "event_timestamp": draw(instants),
        "event_data": plain(event_data),
    }
    document: dict[str, Any] = {
        "type": "trading_event",
        **expected,
        "event_id": str(expected["event_id"]),
        "event_timestamp": draw(timestamp_text(expected["event_timestamp"])),
        "event_data": event_data,
    }
    expected["strategy_id"] = draw(optional(document, "strategy_id", identifiers))
    expected["instrument_token"] = draw(optional(document, "instrument_token", tokens))
    expected["correlation_id"] = draw(optional(document, "correlation_id", identifiers))
    return encode(document), expected


def exactly(value: Any) -> Any:
    """A value's identity down to a Decimal's digits and exponent and a datetime's offset."""
    if isinstance(value, Decimal):
        return ("decimal", value.as_tuple())
    if isinstance(value, datetime):
        return ("datetime", value, value.utcoffset())
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, dict):
        return {k: exactly(v) for k, v in value.items()}
    if isinstance(value, list):
        return [exactly(v) for v in value]
    return value


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(fills(), ticks(), trading_events()))
def test_every_valid_document_parses_exactly_and_round_trips(
    case: tuple[str, dict[str, Any]],
) -> None:
    text, expected = case
    document = parse_document(text)
    parsed = {name: getattr(document, name) for name in expected}
    assert exactly(parsed) == exactly(expected)
    again = parse_document(dump_document(document))
    assert again == document
    assert exactly(again.model_dump()) == exactly(document.model_dump())
    assert parse_document(dump_document(document).encode()) == document


@settings(deadline=None, max_examples=100)
@given(fills())
def test_every_fill_survives_the_journal(case: tuple[str, dict[str, Any]]) -> None:
    fill = parse_document(case[0])
    assert isinstance(fill, OrderFilled)
    stored = json.loads(json.dumps(fill.to_journal_record()["event_data"]))
    assert parse_journaled_fill(stored) == fill


def only_our_error(raw: str | bytes) -> None:
    try:
        parse_document(raw)
    except InvalidDocumentError as error:
        assert error.reason
        assert error.__cause__ is None


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=512))
@example(b"\x00")
@example(b'{"type":"order_filled","price":1e999999999}')
def test_random_bytes_raise_only_our_error(raw: bytes) -> None:
    only_our_error(raw)


@settings(deadline=None, max_examples=300)
@given(st.text(max_size=512))
def test_random_text_raises_only_our_error(raw: str) -> None:
    only_our_error(raw)


garbage = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-(10**60), 10**60)
    | st.floats()
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)


@settings(deadline=None, max_examples=300)
@given(garbage)
def test_random_json_values_raise_only_our_error(value: Any) -> None:
    only_our_error(json.dumps(value))


@settings(deadline=None, max_examples=500)
@given(
    st.sampled_from(list(DOCUMENTS)),
    st.data(),
    st.lists(st.sampled_from(["set", "delete", "add"]), min_size=1, max_size=3),
)
def test_mutated_documents_parse_or_raise_only_our_error(
    kind: str, data: st.DataObject, mutations: list[str]
) -> None:
    document = dict(DOCUMENTS[kind])
    for mutation in mutations:
        if mutation == "add":
            document[data.draw(st.text(max_size=12))] = data.draw(garbage)
        elif document:
            name = data.draw(st.sampled_from(sorted(document)))
            if mutation == "delete":
                del document[name]
            else:
                document[name] = data.draw(garbage)
    only_our_error(json.dumps(document))


@settings(deadline=None, max_examples=100)
@given(
    st.integers(1, 40000),
    st.sampled_from(["[", '{"a":', '{"type":"trading_event","event_data":']),
)
def test_any_nesting_raises_only_our_error(depth: int, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    raw = opening * depth + "0" + closing * depth
    assume(len(raw) <= 2 * MAX_DOCUMENT_BYTES)
    only_our_error(raw)


@settings(deadline=None, max_examples=100)
@given(st.integers(1, 6000), st.sampled_from(["", "-", "0.", "1e", "1e-"]))
def test_huge_numbers_raise_only_our_error(digits: int, prefix: str) -> None:
    number = prefix + "9" * digits
    only_our_error(json.dumps(FILL).replace('"100.10"', number))
    only_our_error(json.dumps(FILL).replace("10,", number + ","))
    only_our_error(json.dumps(EVENT).replace("0.75", number))
