"""parse_document on arbitrary input: a valid model or InvalidDocumentError, nothing else.

The strategies (tests/fixtures/fuzz_documents.py) know by construction whether a
case is valid, so this also checks the parser's verdict, not only that it does
not crash: every valid case parses into a model that round-trips and whose
journal record is plain JSON, every broken or hostile one is refused.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.documents import (
    MarketTick,
    OrderFilled,
    TradingEvent,
    dump_document,
    parse_document,
)
from actors.errors import InvalidDocumentError
from tests.fixtures.fuzz_documents import (
    EVENT_ID_SLOT,
    Raw,
    broken_documents,
    encode,
    hostile,
    json_values,
    reason_class,
    valid_documents,
)

FUZZ = settings(deadline=None, max_examples=200, suppress_health_check=list(HealthCheck))
EVENT_ID = "6f1c7f3e-9a43-4b8e-8f5a-0c2b2a7d9e11"


def text_of(document: dict[str, Any]) -> str:
    return encode({k: EVENT_ID if v == EVENT_ID_SLOT else v for k, v in document.items()})


def outcome(raw: str | bytes) -> MarketTick | OrderFilled | TradingEvent | InvalidDocumentError:
    """The model, or the refusal; any other exception fails the test."""
    try:
        return parse_document(raw)
    except InvalidDocumentError as error:
        return error


def assert_refused(raw: str | bytes) -> None:
    result = outcome(raw)
    assert isinstance(result, InvalidDocumentError), f"accepted: {raw[:200]!r}"
    assert result.reason and result.__cause__ is None
    assert reason_class(result.reason) != "other", result.reason


def assert_valid_model(document: MarketTick | OrderFilled | TradingEvent) -> None:
    assert parse_document(dump_document(document)) == document
    if not isinstance(document, MarketTick):
        record = document.to_journal_record()
        json.loads(json.dumps(record["event_data"], default=str))


@FUZZ
@given(valid_documents)
def test_valid_documents_parse_into_valid_models(document: dict[str, Any]) -> None:
    result = outcome(text_of(document))
    assert not isinstance(result, InvalidDocumentError), result.reason
    assert result.type == document["type"]
    assert_valid_model(result)


@FUZZ
@given(broken_documents())
def test_one_broken_field_is_always_refused(case: tuple[str, dict[str, Any]]) -> None:
    assert_refused(text_of(case[1]))


@FUZZ
@given(hostile())
def test_hostile_entries_are_always_refused(case: tuple[str, bytes]) -> None:
    assert_refused(case[1])


jsonish = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.decimals()
    | st.text()
    | st.binary(max_size=16),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.text(max_size=10) | st.sampled_from(["type", "event_id"]), inner)
    ),
    max_leaves=40,
)


def loosely(value: Any) -> str:
    """JSON-ish text of anything: bytes as latin-1 text, NaN and Infinity as Python writes them."""
    return json.dumps(
        value, default=lambda v: v.decode("latin-1") if isinstance(v, bytes) else str(v)
    )


@FUZZ
@given(jsonish, st.sampled_from(["order_filled", "market_tick", "trading_event", None]))
def test_any_jsonish_value_gives_a_model_or_our_error(value: Any, kind: str | None) -> None:
    if kind is not None and isinstance(value, dict):
        value = {"type": kind, **value}
    for raw in (loosely(value), loosely(value).encode(), str(value)):
        result = outcome(raw)
        if not isinstance(result, InvalidDocumentError):
            assert_valid_model(result)


@FUZZ
@given(valid_documents, st.data())
def test_any_value_in_any_field_gives_a_model_or_our_error(
    document: dict[str, Any], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(document)))
    document[name] = data.draw(jsonish.map(lambda v: Raw(loosely(v))) | json_values)
    result = outcome(text_of(document).encode())
    if not isinstance(result, InvalidDocumentError):
        assert_valid_model(result)


TICK = {"type": "market_tick", "instrument_token": 1, "timestamp": "2026-01-05T09:15:00+00:00"}


@pytest.mark.parametrize(
    "text", ["1_000", " 1", "1 ", "\u0661\u0662", "\uff11", "1\u00a0", "NaN", "-Infinity", "1e"]
)
def test_decimal_text_is_ascii_number_syntax_only(text: str) -> None:
    result = outcome(json.dumps({**TICK, "last_price": text}))
    assert isinstance(result, InvalidDocumentError)
    assert result.reason.startswith("market_tick.last_price:")


@pytest.mark.parametrize(
    ("text", "value"),
    [("+5", "5"), (".5", "0.5"), ("5.", "5"), ("1e2", "100"), ("0001.10", "1.1"), ("1E-8", "1E-8")],
)
def test_decimal_text_in_number_syntax_is_exact(text: str, value: str) -> None:
    tick = parse_document(json.dumps({**TICK, "last_price": text}))
    assert isinstance(tick, MarketTick) and tick.last_price == Decimal(value)
