"""The generated instrument master: deterministic, Kite-shaped, a valid dump for the loader."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from alphap.instrument_master import (
    HEADER,
    generate_dump,
    generate_reload,
    instruments,
    kite_decimal,
    reloaded,
)


def _dump(rows: int, seed: int) -> str:
    out = io.StringIO()
    generate_dump(rows, seed, out)
    return out.getvalue()


def test_same_seed_same_dump_other_seed_other_dump() -> None:
    assert _dump(3_000, 1) == _dump(3_000, 1)
    assert _dump(3_000, 1) != _dump(3_000, 2)


def test_dump_has_kite_header_and_exactly_the_rows_asked_for() -> None:
    records = list(csv.reader(io.StringIO(_dump(5_000, 3))))
    assert tuple(records[0]) == HEADER
    assert len(records) == 5_001
    assert all(len(r) == 12 for r in records)


def test_tokens_unique_and_follow_kite_rule() -> None:
    rows = instruments(20_000, 5)
    assert len({r.instrument_token for r in rows}) == len(rows)
    assert len({(r.exchange, r.tradingsymbol) for r in rows}) == len(rows)
    assert all(r.instrument_token // 256 == r.exchange_token for r in rows)


def test_mix_of_exchanges_and_kinds_is_realistic() -> None:
    rows = instruments(20_000, 5)
    segments = Counter(r.segment for r in rows)
    assert {"NSE", "BSE", "INDICES", "NFO-OPT", "NFO-FUT", "BFO-OPT", "MCX-OPT", "CDS-OPT"} <= set(
        segments
    )
    assert segments["NFO-OPT"] > len(rows) / 2
    equities = [r for r in rows if r.segment in ("NSE", "BSE")]
    names = [r.name for r in equities]
    assert sum(1 for n in names if not n) > len(names) / 20
    assert any("&" in n for n in names)
    assert any(" " in n for n in names)
    assert any("-" in n for n in names)
    assert any('"' in n or "'" in n for n in names)


def test_option_symbols_and_fields_look_like_kite() -> None:
    rows = instruments(20_000, 5)
    options = [r for r in rows if r.segment == "NFO-OPT"]
    monthly = re.compile(
        r"^[A-Z&-]+\d{2}(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\d+(CE|PE)$"
    )
    weekly = re.compile(r"^[A-Z&-]+\d{2}[1-9OND]\d{2}\d+(CE|PE)$")
    assert all(monthly.match(o.tradingsymbol) or weekly.match(o.tradingsymbol) for o in options)
    assert any(o.tradingsymbol == "NIFTY25OCT24800CE" for o in options)
    assert all(o.tick_size == Decimal("0.05") and o.lot_size > 0 for o in options)
    assert all(o.expiry is not None and o.expiry > date(2025, 10, 6) for o in options)
    assert all(o.instrument_type == o.tradingsymbol[-2:] for o in options)
    assert len({o.expiry for o in options if o.name == "NIFTY"}) > 3


def test_kite_decimal_looks_like_a_python_float() -> None:
    assert kite_decimal(Decimal("0")) == "0.0"
    assert kite_decimal(Decimal("24800")) == "24800.0"
    assert kite_decimal(Decimal("0.050")) == "0.05"
    assert kite_decimal(Decimal("1E+3")) == "1000.0"


def test_reload_changes_and_adds_the_fractions_asked_for() -> None:
    base = {r.instrument_token: r for r in instruments(10_000, 9)}
    after = {r.instrument_token: r for r in reloaded(10_000, 9, changed=0.05, new=0.01)}
    new = set(after) - set(base)
    changed = [t for t in base if after[t] != base[t]]
    assert len(new) == 100
    assert len(changed) == 500
    assert all(after[t].last_price != base[t].last_price for t in changed)
    out = io.StringIO()
    generate_reload(10_000, 9, out)
    assert len(out.getvalue().splitlines()) == 10_101


@settings(max_examples=25, deadline=None)
@given(rows=st.integers(min_value=0, max_value=400), seed=st.integers(0, 2**32))
def test_any_dump_parses_back_to_its_instruments(rows: int, seed: int) -> None:
    expected = instruments(rows, seed)
    records = list(csv.reader(io.StringIO(_dump(rows, seed))))[1:]
    assert records == [i.csv_fields() for i in expected]
    for record, item in zip(records, expected, strict=True):
        assert Decimal(record[4]) == item.last_price
        assert (date.fromisoformat(record[5]) if record[5] else None) == item.expiry
