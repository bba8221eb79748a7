"""Portfolio accounting: worked examples by hand, then the reference model on random histories."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Context, Decimal, Inexact, localcontext
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.accounting import STARTING_CASH, Portfolio, Position
from actors.documents import OrderFilled
from actors.errors import AccountingError
from tests.fixtures.reference_model import ReferencePortfolio, snapshot_from_row

TOKEN = 256265
OTHER = 738561
D = Decimal


def fill(
    side: str, quantity: int, price: str | Decimal, fees: str | Decimal = "0", token: int = TOKEN
) -> OrderFilled:
    return OrderFilled(
        event_id=uuid.uuid4(),
        broker_namespace="paper",
        portfolio_id="p",
        strategy_id="s",
        instrument_token=token,
        side=side,  # type: ignore[arg-type]
        quantity=quantity,
        price=Decimal(price),
        fees=Decimal(fees),
        filled_at=datetime(2026, 11, 27, tzinfo=UTC),
    )


def run(*fills: OrderFilled, start: Portfolio | None = None) -> Portfolio:
    portfolio = start if start is not None else Portfolio.opened()
    for each in fills:
        portfolio = portfolio.apply_fill(each)
    return portfolio


def position(portfolio: Portfolio, token: int = TOKEN) -> tuple[int, Decimal, Decimal, Decimal]:
    p = portfolio.positions[token]
    return p.quantity, p.average_price, p.realized_pnl, p.last_price


# --- worked examples -------------------------------------------------------------------------


def test_a_new_portfolio_holds_only_cash() -> None:
    portfolio = Portfolio.opened()
    assert portfolio.cash == STARTING_CASH == D(1_000_000)
    assert dict(portfolio.positions) == {}
    assert portfolio.total_pnl == 0
    assert Portfolio.opened(D("2500.50")).cash == D("2500.50")


def test_open_long() -> None:
    portfolio = run(fill("BUY", 10, "100"))
    assert position(portfolio) == (10, D(100), D(0), D(100))
    assert portfolio.cash == D(999_000)


def test_add_to_long_averages_the_cost() -> None:
    portfolio = run(fill("BUY", 10, "100"), fill("BUY", 5, "106"))
    # (10 * 100 + 5 * 106) / 15 = 102
    assert position(portfolio) == (15, D(102), D(0), D(106))
    assert portfolio.cash == D(1_000_000 - 1000 - 530)
    assert portfolio.total_unrealized_pnl == D(60)


def test_average_is_rounded_to_eight_places() -> None:
    portfolio = run(fill("BUY", 1, "100"), fill("BUY", 2, "100.01"))
    # 300.02 / 3 = 100.006666...
    assert portfolio.positions[TOKEN].average_price == D("100.00666667")
    assert portfolio.positions[TOKEN].average_price.as_tuple().exponent == -8


@pytest.mark.parametrize(
    ("second", "average"),
    [("1.00000000", "1.00000000"), ("1.00000002", "1.00000002"), ("1.00000004", "1.00000002")],
)
def test_average_rounds_half_to_even(second: str, average: str) -> None:
    # exact averages 1.000000005, 1.000000015 and 1.000000025: ties, to the even neighbour
    portfolio = run(fill("BUY", 1, "1.00000001"), fill("BUY", 1, second))
    assert portfolio.positions[TOKEN].average_price == D(average)


def test_short_average_rounds_the_same_way() -> None:
    portfolio = run(fill("SELL", 1, "100"), fill("SELL", 2, "100.01"))
    assert position(portfolio)[:2] == (-3, D("100.00666667"))


def test_partial_close_realizes_against_the_average() -> None:
    portfolio = run(fill("BUY", 10, "100"), fill("SELL", 4, "110"))
    assert position(portfolio) == (6, D(100), D(40), D(110))
    assert portfolio.cash == D(1_000_000 - 1000 + 440)


def test_full_close_zeroes_the_average_and_keeps_the_position() -> None:
    portfolio = run(fill("BUY", 10, "100"), fill("SELL", 4, "110"), fill("SELL", 6, "90"))
    # realized: 4 * 10 + 6 * -10
    assert position(portfolio) == (0, D(0), D(-20), D(90))
    assert portfolio.cash == D(1_000_000 - 1000 + 440 + 540)
    assert portfolio.total_realized_pnl == D(-20)
    assert portfolio.total_unrealized_pnl == 0


def test_flip_long_to_short_opens_the_rest_at_the_fill_price() -> None:
    portfolio = run(fill("BUY", 10, "100"), fill("SELL", 15, "120"))
    assert position(portfolio) == (-5, D(120), D(200), D(120))
    assert portfolio.cash == D(1_000_000 - 1000 + 1800)


def test_flip_short_to_long() -> None:
    portfolio = run(fill("BUY", 10, "100"), fill("SELL", 15, "120"), fill("BUY", 8, "100"))
    # the 5 short at 120 close at 100: 5 * (100 - 120) * -1 = +100
    assert position(portfolio) == (3, D(100), D(300), D(100))
    assert portfolio.cash == D(1_000_000 - 1000 + 1800 - 800)


def test_short_open_add_and_cover() -> None:
    portfolio = run(fill("SELL", 10, "50"), fill("SELL", 10, "40"))
    assert position(portfolio) == (-20, D(45), D(0), D(40))
    assert portfolio.cash == D(1_000_000 + 900)
    portfolio = portfolio.apply_fill(fill("BUY", 5, "30"))
    assert position(portfolio) == (-15, D(45), D(75), D(30))
    assert portfolio.total_unrealized_pnl == D(225)  # (30 - 45) * -15


def test_fees_reduce_realized_pnl_and_cash_on_every_fill() -> None:
    portfolio = run(fill("BUY", 10, "100", fees="20"))
    assert position(portfolio) == (10, D(100), D(-20), D(100))
    assert portfolio.cash == D(998_980)
    portfolio = portfolio.apply_fill(fill("SELL", 10, "100", fees="20.05"))
    assert position(portfolio) == (0, D(0), D("-40.05"), D(100))
    assert portfolio.cash == D("999959.95")
    assert portfolio.cash - STARTING_CASH == portfolio.total_realized_pnl


def test_without_ticks_the_last_fill_prices_the_position() -> None:
    portfolio = run(fill("BUY", 10, "100"), fill("BUY", 10, "101"), fill("SELL", 5, "99.5"))
    assert portfolio.positions[TOKEN].last_price == D("99.5")


def test_once_ticked_fills_no_longer_move_the_last_price() -> None:
    portfolio = run(fill("BUY", 10, "100")).apply_tick(TOKEN, D("105"))
    assert position(portfolio) == (10, D(100), D(0), D(105))
    assert portfolio.total_unrealized_pnl == D(50)
    portfolio = portfolio.apply_fill(fill("BUY", 10, "110"))
    assert position(portfolio) == (20, D(105), D(0), D(105))
    assert portfolio.total_unrealized_pnl == 0
    portfolio = portfolio.apply_tick(TOKEN, D("104.95"))
    assert portfolio.total_unrealized_pnl == D("-1")
    assert portfolio.total_pnl == D("-1")


def test_a_tick_for_an_instrument_never_traded_is_ignored() -> None:
    portfolio = run(fill("BUY", 1, "10"))
    assert portfolio.apply_tick(OTHER, D("5")) is portfolio
    later = portfolio.apply_tick(OTHER, D("5")).apply_fill(fill("BUY", 1, "7", token=OTHER))
    assert later.positions[OTHER].last_price == D(7)


def test_ticks_keep_pricing_a_closed_position() -> None:
    portfolio = run(fill("BUY", 1, "10"), fill("SELL", 1, "12")).apply_tick(TOKEN, D("13"))
    assert position(portfolio) == (0, D(0), D(2), D(13))
    assert portfolio.total_unrealized_pnl == 0


def test_totals_span_instruments() -> None:
    portfolio = run(
        fill("BUY", 10, "100"),
        fill("SELL", 4, "110", fees="1"),
        fill("SELL", 3, "50", token=OTHER),
    ).apply_tick(OTHER, D("45"))
    assert portfolio.total_realized_pnl == D(39)
    assert portfolio.total_unrealized_pnl == D(6 * 10 + 15)
    assert portfolio.total_pnl == D(39 + 75)


def test_bad_tick_prices_are_refused() -> None:
    portfolio = run(fill("BUY", 1, "10"))
    for price in (D(0), D(-1), D("NaN"), D("Infinity")):
        with pytest.raises(AccountingError):
            portfolio.apply_tick(TOKEN, price)


def test_no_silent_rounding_at_the_largest_values() -> None:
    price = D("99999999999999999999.99999999")
    portfolio = run(*[fill("BUY", 10**12, price, fees=price) for _ in range(3)])
    exact_price = Fraction(price)
    assert Fraction(portfolio.cash) == Fraction(STARTING_CASH) - 3 * (10**12 + 1) * exact_price
    quantity, average, realized, _ = position(portfolio)
    assert (quantity, average, Fraction(realized)) == (3 * 10**12, price, -3 * exact_price)


def test_states_are_immutable_values() -> None:
    before = run(fill("BUY", 10, "100"))
    after = before.apply_fill(fill("SELL", 10, "101"))
    assert position(before) == (10, D(100), D(0), D(100))
    assert position(after) == (0, D(0), D(10), D(101))
    with pytest.raises(TypeError):
        after.positions[TOKEN] = Position()  # type: ignore[index]


# --- snapshots -------------------------------------------------------------------------------


def test_snapshot_fields_match_the_contract() -> None:
    portfolio = run(
        fill("BUY", 3, "100.10"),
        fill("BUY", 1, "100"),
        fill("SELL", 2, "99", fees="0.5", token=OTHER),
        fill("BUY", 2, "98", token=OTHER),
    ).apply_tick(TOKEN, D("101"))
    fields = portfolio.to_snapshot_fields()
    assert fields.positions == {
        str(TOKEN): {
            "quantity": 4,
            "average_price": "100.07500000",
            "realized_pnl": "0",
            "last_price": "101",
            "priced_by_tick": True,
        },
        str(OTHER): {
            "quantity": 0,
            "average_price": "0",
            "realized_pnl": "1.50000000",
            "last_price": "98",
            "priced_by_tick": False,
        },
    }
    assert fields.cash == D(1_000_000) - D("300.30") - 100 + D("197.5") - 196
    assert fields.total_realized_pnl == D("1.5")
    assert fields.total_unrealized_pnl == D("3.7")
    assert fields.total_pnl == D("5.2")


def test_snapshot_round_trip() -> None:
    portfolio = run(fill("BUY", 3, "100.10"), fill("SELL", 5, "1E+2", token=OTHER))
    fields = portfolio.to_snapshot_fields()
    rebuilt = Portfolio.from_snapshot(fields.cash, fields.positions)
    assert rebuilt == portfolio
    assert rebuilt.to_snapshot_fields() == fields


def test_a_rebuilt_portfolio_remembers_its_ticks() -> None:
    ticked = run(fill("BUY", 1, "10")).apply_tick(TOKEN, D("11"))
    fields = ticked.to_snapshot_fields()
    rebuilt = Portfolio.from_snapshot(fields.cash, fields.positions)
    assert rebuilt.positions[TOKEN].last_price == D(11)
    assert rebuilt.apply_fill(fill("BUY", 1, "12")).positions[TOKEN].last_price == D(11)


def test_a_snapshot_without_the_tick_flag_counts_as_not_yet_ticked() -> None:
    ticked = run(fill("BUY", 1, "10")).apply_tick(TOKEN, D("11"))
    fields = ticked.to_snapshot_fields()
    contract_only = {
        token: {k: v for k, v in position.items() if k != "priced_by_tick"}
        for token, position in fields.positions.items()
    }
    rebuilt = Portfolio.from_snapshot(fields.cash, contract_only)
    assert rebuilt.positions[TOKEN].last_price == D(11)
    assert rebuilt.apply_fill(fill("BUY", 1, "12")).positions[TOKEN].last_price == D(12)


GOOD = {"quantity": 2, "average_price": "10.5", "realized_pnl": "-1", "last_price": "11"}


@pytest.mark.parametrize(
    "positions",
    [
        [],
        {"01": GOOD},
        {"-5": GOOD},
        {"abc": GOOD},
        {"": GOOD},
        {"5": []},
        {"5": {**GOOD, "extra": 1}},
        {"5": {k: v for k, v in GOOD.items() if k != "last_price"}},
        {"5": {**GOOD, "quantity": True}},
        {"5": {**GOOD, "priced_by_tick": "yes"}},
        {"5": {**GOOD, "quantity": "2"}},
        {"5": {**GOOD, "quantity": 2.0}},
        {"5": {**GOOD, "average_price": 10.5}},
        {"5": {**GOOD, "average_price": "NaN"}},
        {"5": {**GOOD, "average_price": "ten"}},
        {"5": {**GOOD, "average_price": "0"}},
        {"5": {**GOOD, "average_price": "-10.5"}},
        {"5": {**GOOD, "quantity": 0}},
        {"5": {**GOOD, "realized_pnl": "Infinity"}},
        {"5": {**GOOD, "last_price": "-1"}},
    ],
)
def test_bad_snapshots_are_refused(positions: Any) -> None:
    with pytest.raises(AccountingError):
        Portfolio.from_snapshot(D(0), positions)


@pytest.mark.parametrize("cash", [1.5, "NaN", D("Infinity"), True, None])
def test_bad_snapshot_cash_is_refused(cash: Any) -> None:
    with pytest.raises(AccountingError):
        Portfolio.from_snapshot(cash, {"5": GOOD})


def test_good_snapshot_values_in_any_exact_form() -> None:
    positions = {"5": {**GOOD, "average_price": D("10.5"), "realized_pnl": -1}}
    rebuilt = Portfolio.from_snapshot(D("12.5"), positions)
    assert rebuilt.positions[5] == Position(2, D("10.5"), D(-1), D(11))


# --- against the reference model -------------------------------------------------------------

TOKENS = [TOKEN, OTHER, 5]

prices = st.one_of(
    st.integers(1, 10_000).map(D),
    st.integers(1, 10**10).map(lambda units: D(units).scaleb(-8)),
    st.integers(99_999_990, 100_000_010).map(lambda units: D(units).scaleb(-8)),
    st.integers(1, 10**11).map(lambda units: D(units).scaleb(-2)),
)
fees = st.one_of(st.just(D(0)), st.integers(0, 10**6).map(lambda units: D(units).scaleb(-2)))
quantities = st.one_of(st.integers(1, 10), st.integers(1, 10**6), st.just(10**12))
fill_steps = st.builds(
    lambda token, side, quantity, price, fee: ("fill", fill(side, quantity, price, fee, token)),
    st.sampled_from(TOKENS),
    st.sampled_from(["BUY", "SELL"]),
    quantities,
    prices,
    fees,
)
tick_steps = st.tuples(st.just("tick"), st.tuples(st.sampled_from(TOKENS), prices))
histories = st.lists(st.one_of(fill_steps, fill_steps, tick_steps), max_size=40)
starting_cash = st.one_of(st.just(STARTING_CASH), st.integers(0, 10**9).map(D))


def apply_both(
    portfolio: Portfolio, reference: ReferencePortfolio, step: tuple[str, Any]
) -> Portfolio:
    kind, payload = step
    if kind == "fill":
        reference.apply(payload)
        return portfolio.apply_fill(payload)
    token, price = payload
    reference.tick(token, price)
    return portfolio.apply_tick(token, price)


def as_reference(portfolio: Portfolio) -> dict[str, Any]:
    fields = portfolio.to_snapshot_fields()
    return snapshot_from_row(
        fields.cash,
        fields.total_realized_pnl,
        fields.total_unrealized_pnl,
        fields.total_pnl,
        fields.positions,
    )


@settings(deadline=None, max_examples=400)
@given(starting_cash, histories)
def test_matches_the_reference_model_after_every_step(
    cash: Decimal, history: list[tuple[str, Any]]
) -> None:
    portfolio, reference = Portfolio.opened(cash), ReferencePortfolio(cash)
    for step in history:
        portfolio = apply_both(portfolio, reference, step)
        assert as_reference(portfolio) == reference.snapshot()


@settings(deadline=None, max_examples=200)
@given(starting_cash, histories)
def test_snapshot_round_trip_is_exact(cash: Decimal, history: list[tuple[str, Any]]) -> None:
    portfolio, reference = Portfolio.opened(cash), ReferencePortfolio(cash)
    for step in history:
        portfolio = apply_both(portfolio, reference, step)
    fields = portfolio.to_snapshot_fields()
    rebuilt = Portfolio.from_snapshot(fields.cash, fields.positions)
    assert rebuilt.to_snapshot_fields() == fields
    for token, original in portfolio.positions.items():
        restored = rebuilt.positions[token]
        assert (restored.quantity, restored.average_price) == (
            original.quantity,
            original.average_price,
        )
        assert (restored.realized_pnl, restored.last_price) == (
            original.realized_pnl,
            original.last_price,
        )
        assert restored.priced_by_tick == original.priced_by_tick


HALF_STEP = D("0.000000005")


@settings(deadline=None, max_examples=300)
@given(starting_cash, histories)
def test_cash_equals_realized_pnl_less_cost_held_up_to_average_rounding(
    cash: Decimal, history: list[tuple[str, Any]]
) -> None:
    """cash - start = Σ (realized - quantity * average), but for the averages' rounding.

    Reducing, closing and flipping keep this exact; each fill that opens or adds
    can move it by at most half a unit of the 8th place per unit then held.
    Cash on its own is exactly -Σ signed notional - Σ fees.
    """
    with localcontext(Context(prec=200, traps=[Inexact])):
        check_books(cash, history)


def check_books(cash: Decimal, history: list[tuple[str, Any]]) -> None:
    portfolio = Portfolio.opened(cash)
    slack, flows = D(0), D(0)
    for kind, payload in history:
        if kind == "tick":
            portfolio = portfolio.apply_tick(*payload)
            continue
        held = portfolio.positions.get(payload.instrument_token, Position()).quantity
        signed = payload.quantity if payload.side == "BUY" else -payload.quantity
        portfolio = portfolio.apply_fill(payload)
        if held * signed >= 0:
            slack += abs(held + signed) * HALF_STEP
        flows += -signed * payload.price - payload.fees
        books = sum(
            (p.realized_pnl - p.quantity * p.average_price for p in portfolio.positions.values()),
            D(0),
        )
        assert portfolio.cash - cash == flows
        assert abs(portfolio.cash - cash - books) <= slack


held_tokens = st.sampled_from([TOKEN, OTHER, 3, 4])
tick_prices = st.one_of(
    st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    st.sampled_from([D(0), D(-1), D("NaN")]),
)


@given(
    st.lists(st.tuples(held_tokens, st.integers(1, 50), st.sampled_from(["BUY", "SELL"]))),
    st.dictionaries(held_tokens, tick_prices),
)
@settings(max_examples=300, deadline=None)
def test_applying_ticks_together_equals_applying_them_one_by_one(
    trades: list[tuple[int, int, str]], prices: dict[int, Decimal]
) -> None:
    portfolio = run(*[fill(side, quantity, "10", token=token) for token, quantity, side in trades])
    try:
        expected = portfolio
        for token, price in prices.items():
            expected = expected.apply_tick(token, price)
    except AccountingError:
        with pytest.raises(AccountingError):
            portfolio.apply_ticks(prices)
        return
    together = portfolio.apply_ticks(prices)
    assert together == expected
    assert (together is portfolio) == (expected is portfolio)
