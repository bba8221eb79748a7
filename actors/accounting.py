"""Portfolio accounting: average cost over exact decimals (ARCHITECTURE.md, binding).

A `Portfolio` is an immutable value; `apply_fill` and `apply_tick` return the
next one, so the owning actor can keep the old state until the new one is
complete. The rules are the contract's, word for word; where it is silent:

- `last_price` is the latest tick, or the latest fill price before any tick:
  once a tick has priced an instrument, its fills no longer move `last_price`.
  Snapshots record that in an extra position key, `priced_by_tick` (readers that
  know only the contract's four keys ignore it), so fills replayed after a
  snapshot leave a ticked price alone; a snapshot without the key counts as not
  yet ticked.
- A tick for an instrument the portfolio has never traded is ignored, so
  snapshots hold only instruments the portfolio traded.
- A position closed to 0 stays (quantity 0, average 0, last price still
  ticking): its realized P&L remains that instrument's, in snapshots too.
- Fees are charged on every fill, opening ones included.
- Arithmetic is exact: it runs in a context that traps any rounding, so the
  only rounding ever done is the contract's half-even rounding of the average
  price to 8 places, computed on integers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from types import MappingProxyType
from typing import Any

from actors.documents import OrderFilled
from actors.errors import AccountingError

STARTING_CASH = Decimal(1_000_000)
AVERAGE_PLACES = 8
POSITION_FIELDS = frozenset({"quantity", "average_price", "realized_pnl", "last_price"})
PRICED_BY_TICK = "priced_by_tick"

_EXACT = Context(
    prec=200,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
_ZERO = Decimal(0)


def _sign(number: int) -> int:
    return (number > 0) - (number < 0)


def _average(cost: Decimal, units: int) -> Decimal:
    """`cost / units` rounded half-even to 8 places, exactly (no intermediate rounding)."""
    numerator, denominator = cost.as_integer_ratio()
    quotient, remainder = divmod(numerator * 10**AVERAGE_PLACES, denominator * units)
    twice = 2 * remainder
    if twice > denominator * units or (twice == denominator * units and quotient % 2):
        quotient += 1
    return Decimal(quotient).scaleb(-AVERAGE_PLACES)


@dataclass(frozen=True)
class Position:
    """One instrument of a portfolio; `quantity` is signed (long > 0, short < 0)."""

    quantity: int = 0
    average_price: Decimal = _ZERO
    realized_pnl: Decimal = _ZERO
    last_price: Decimal = _ZERO
    priced_by_tick: bool = False

    @property
    def unrealized_pnl(self) -> Decimal:
        """`(last_price - average_price) * quantity`."""
        with localcontext(_EXACT):
            return (self.last_price - self.average_price) * self.quantity

    def ticked(self, price: Decimal) -> Position:
        """This position priced by a market tick (built directly: `replace` costs twice as much,
        and a price update touches every position a portfolio holds)."""
        return Position(self.quantity, self.average_price, self.realized_pnl, price, True)

    def filled(self, signed_quantity: int, price: Decimal, fees: Decimal) -> Position:
        """This position after a fill of `signed_quantity` (BUY > 0, SELL < 0) at `price`."""
        held, units = self.quantity, abs(signed_quantity)
        average, realized = self.average_price, self.realized_pnl
        with localcontext(_EXACT):
            if held == 0 or _sign(held) == _sign(signed_quantity):
                average = _average(abs(held) * average + units * price, abs(held) + units)
            else:
                closed = min(abs(held), units)
                realized += closed * (price - average) * _sign(held)
                remaining = held + signed_quantity
                if remaining == 0:
                    average = _ZERO
                elif _sign(remaining) != _sign(held):
                    average = price
            realized -= fees
        return Position(
            quantity=held + signed_quantity,
            average_price=average,
            realized_pnl=realized,
            last_price=self.last_price if self.priced_by_tick else price,
            priced_by_tick=self.priced_by_tick,
        )


@dataclass(frozen=True)
class SnapshotFields:
    """A portfolio as the `portfolio_snapshots` row holds it."""

    cash: Decimal
    total_realized_pnl: Decimal
    total_unrealized_pnl: Decimal
    total_pnl: Decimal
    positions: dict[str, dict[str, int | str | bool]]


def _plain(number: Decimal) -> str:
    return format(number, "f")


@dataclass(frozen=True)
class Portfolio:
    """Cash and positions by instrument token; an immutable value."""

    cash: Decimal = STARTING_CASH
    positions: Mapping[int, Position] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def opened(cls, starting_cash: Decimal = STARTING_CASH) -> Portfolio:
        """A new portfolio holding only `starting_cash`."""
        return cls(cash=_exact_decimal(starting_cash, "starting cash"))

    def apply_fill(self, fill: OrderFilled) -> Portfolio:
        """The portfolio after `fill`, under the contract's average cost rules."""
        signed = fill.quantity if fill.side == "BUY" else -fill.quantity
        position = self.positions.get(fill.instrument_token, Position())
        try:
            with localcontext(_EXACT):
                notional = fill.quantity * fill.price
                cash = (
                    self.cash - notional - fill.fees
                    if fill.side == "BUY"
                    else self.cash + notional - fill.fees
                )
                updated = position.filled(signed, fill.price, fill.fees)
        except DecimalException as error:
            raise AccountingError(f"fill beyond exact arithmetic: {error!r}") from None
        return self._with(fill.instrument_token, updated, cash)

    def apply_tick(self, instrument_token: int, price: Decimal) -> Portfolio:
        """The portfolio after a tick; an instrument it never traded is left out."""
        return self.apply_ticks({instrument_token: price})

    def apply_ticks(self, prices: Mapping[int, Decimal]) -> Portfolio:
        """The portfolio after these ticks, in order (the same as one at a time), one copy in all.

        A tick sets the position's last price; an instrument never traded is left
        out, and a price equal to the ticked one leaves the portfolio as it is.
        """
        positions: dict[int, Position] | None = None
        for instrument_token, price in prices.items():
            position = self.positions.get(instrument_token)
            if position is None:
                continue
            if not price.is_finite() or price <= 0:
                raise AccountingError("a tick price must be a finite decimal greater than 0")
            if position.priced_by_tick and position.last_price == price:
                continue
            if positions is None:
                positions = dict(self.positions)
            positions[instrument_token] = position.ticked(price)
        if positions is None:
            return self
        return Portfolio(cash=self.cash, positions=MappingProxyType(positions))

    def _with(self, instrument_token: int, position: Position, cash: Decimal) -> Portfolio:
        positions = dict(self.positions)
        positions[instrument_token] = position
        return Portfolio(cash=cash, positions=MappingProxyType(positions))

    @property
    def total_realized_pnl(self) -> Decimal:
        """Σ realized P&L over all instruments, closed ones included."""
        with localcontext(_EXACT):
            return sum((p.realized_pnl for p in self.positions.values()), _ZERO)

    @property
    def total_unrealized_pnl(self) -> Decimal:
        """Σ (last_price - average_price) * quantity."""
        with localcontext(_EXACT):
            return sum((p.unrealized_pnl for p in self.positions.values()), _ZERO)

    @property
    def total_pnl(self) -> Decimal:
        """Realized plus unrealized."""
        with localcontext(_EXACT):
            return self.total_realized_pnl + self.total_unrealized_pnl

    def to_snapshot_fields(self) -> SnapshotFields:
        """The snapshot row's values; decimals in `positions` are exact plain strings."""
        return SnapshotFields(
            cash=self.cash,
            total_realized_pnl=self.total_realized_pnl,
            total_unrealized_pnl=self.total_unrealized_pnl,
            total_pnl=self.total_pnl,
            positions={
                str(token): {
                    "quantity": position.quantity,
                    "average_price": _plain(position.average_price),
                    "realized_pnl": _plain(position.realized_pnl),
                    "last_price": _plain(position.last_price),
                    PRICED_BY_TICK: position.priced_by_tick,
                }
                for token, position in sorted(self.positions.items())
            },
        )

    @classmethod
    def from_snapshot(cls, cash: Decimal, positions: Mapping[str, Any]) -> Portfolio:
        """Rebuild a portfolio from a snapshot row (`priced_by_tick` absent: not yet ticked)."""
        rebuilt = {
            _token(key): _position(value, key) for key, value in _mapping(positions, "").items()
        }
        return cls(cash=_exact_decimal(cash, "cash"), positions=MappingProxyType(rebuilt))


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise AccountingError(f"snapshot positions{where} must be a JSON object")
    return value


def _token(key: Any) -> int:
    if not isinstance(key, str) or not key.isascii() or not key.isdigit() or key[0] == "0":
        raise AccountingError("snapshot position keys must be instrument tokens as strings")
    return int(key)


def _exact_decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
        raise AccountingError(f"{name} must be an exact decimal, not {type(value).__name__}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise AccountingError(f"{name} is not a decimal") from None
    if not number.is_finite():
        raise AccountingError(f"{name} must be finite")
    return number


def _position(value: Any, key: str) -> Position:
    where = f"[{key[:32]}]"
    fields = _mapping(value, where)
    if set(fields) - {PRICED_BY_TICK} != POSITION_FIELDS:
        raise AccountingError(
            f"snapshot position{where} must have exactly the fields {sorted(POSITION_FIELDS)}"
            f" (and optionally {PRICED_BY_TICK})"
        )
    ticked = fields.get(PRICED_BY_TICK, False)
    if not isinstance(ticked, bool):
        raise AccountingError(f"snapshot position{where}.{PRICED_BY_TICK} must be a boolean")
    quantity = fields["quantity"]
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise AccountingError(f"snapshot position{where}.quantity must be an integer")
    average = _exact_decimal(fields["average_price"], f"position{where}.average_price")
    last = _exact_decimal(fields["last_price"], f"position{where}.last_price")
    if (average == 0) != (quantity == 0) or average < 0 or last < 0:
        raise AccountingError(
            f"snapshot position{where} breaks the rules: an open position has an average "
            "price > 0, a closed one 0, and prices are never negative"
        )
    return Position(
        quantity=quantity,
        average_price=average,
        realized_pnl=_exact_decimal(fields["realized_pnl"], f"position{where}.realized_pnl"),
        last_price=last,
        priced_by_tick=ticked,
    )
