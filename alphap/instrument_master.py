"""A realistic Kite instruments dump, generated deterministically from a seed.

Shaped like Kite's all-exchange dump: NSE and BSE equities (names with spaces,
&, -, quotes and commas, some empty, bonds with odd symbols), NSE indices, NFO
and BFO futures and options on weekly and monthly expiries, and a few MCX and
CDS contracts. The F&O stocks are listed as equities too, under their real symbols.
Tokens follow Kite's rule instrument_token = exchange_token * 256 + segment id.
The load benchmark, the tests and `alphap demo` (dated today, so nothing has
expired) use it as input.

    generate_dump(120_000, seed=7, out=file)
    generate_reload(120_000, seed=7, out=file, changed=0.05, new=0.01)
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TextIO

HEADER = (
    "instrument_token", "exchange_token", "tradingsymbol", "name", "last_price", "expiry",
    "strike", "tick_size", "lot_size", "instrument_type", "segment", "exchange",
)  # fmt: skip
DUMP_DATE = date(2025, 10, 6)
_SEGMENT_IDS = {
    "NSE": 1, "NFO-FUT": 2, "NFO-OPT": 2, "CDS-FUT": 3, "CDS-OPT": 3, "BSE": 4,
    "MCX-FUT": 7, "MCX-OPT": 7, "BFO-FUT": 8, "BFO-OPT": 8, "INDICES": 9,
}  # fmt: skip
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKLY_MONTH = "123456789OND"
_WORDS = (
    "BHARAT", "ELECTRONICS", "INDIAN", "OIL", "HOUSING", "FINANCE", "STEEL", "POWER", "GRID",
    "ENERGY", "CHEMICALS", "PHARMA", "TEXTILES", "CEMENT", "MOTORS", "AUTO", "AGRO", "INFRA",
    "SOLAR", "CAPITAL", "HOLDINGS", "INVS", "PAPER", "SUGAR", "FOODS", "LABS", "SYSTEMS",
    "TECHNO", "GLOBAL", "NATIONAL", "UNITED", "SHREE", "RAJA", "AMARA", "MAHINDRA", "BAJAJ",
)  # fmt: skip
_ODD_NAMES = (
    "DR. REDDY'S LABORATORIES", "M&M FIN. SERVICES", "L&T TECHNOLOGY SER.",
    'SHREE "RAM" TEXTILES, LTD', "BAJAJ HOLDINGS & INVS", "ADITYA BIRLA-FASHION",
    "NIFTY EV & NEW AGE AUTOMOTIVE", "O'HARA, SMITH & CO",
)  # fmt: skip
# Underlying, price, strike step, lot size, weekly expiries too.
_NFO = (
    ("NIFTY", 24800, 50, 75, True), ("BANKNIFTY", 55300, 100, 35, False),
    ("FINNIFTY", 26100, 50, 65, False), ("MIDCPNIFTY", 12800, 25, 140, False),
    ("RELIANCE", 1370, 10, 500, False), ("HDFCBANK", 965, 5, 550, False),
    ("INFY", 1450, 20, 400, False), ("TCS", 2900, 20, 175, False),
    ("SBIN", 870, 5, 750, False), ("ARE&M", 1010, 10, 425, False),
    ("M&M", 3460, 20, 200, False), ("BAJAJ-AUTO", 8800, 50, 75, False),
)  # fmt: skip
# The stock underlyings above as listed on NSE and BSE (the exchanges' own names).
_LISTED = {
    "RELIANCE": "RELIANCE INDUSTRIES", "HDFCBANK": "HDFC BANK", "INFY": "INFOSYS",
    "TCS": "TATA CONSULTANCY SERV LT", "SBIN": "STATE BANK OF INDIA",
    "ARE&M": "AMARA RAJA ENERGY MOB", "M&M": "MAHINDRA & MAHINDRA", "BAJAJ-AUTO": "BAJAJ AUTO",
}  # fmt: skip
_BFO = (("SENSEX", 81000, 100, 20, True), ("BANKEX", 62000, 100, 30, False))
_MCX = (("CRUDEOIL", 5500, 50, 100), ("GOLDM", 118000, 100, 10), ("SILVERM", 145000, 250, 5))
_CDS = (
    ("USDINR", Decimal("88.5"), Decimal("0.25"), 1),
    ("EURINR", Decimal("103"), Decimal("0.5"), 1),
)
_INDICES = (
    "NIFTY 50", "NIFTY BANK", "NIFTY IT", "NIFTY MIDCAP 100", "NIFTY FIN SERVICE", "INDIA VIX",
    "NIFTY TRANS LOGIS", "NIFTY MS IT TELCM", "HANGSENG BEES-NAV", "NIFTY50 PR 2X LEV",
)  # fmt: skip
# Share of the rows per kind, about as in a real all-exchange dump.
_MIX = (("nse", 0.07), ("bse", 0.10), ("nfo", 0.62), ("bfo", 0.11), ("mcx", 0.05), ("cds", 0.05))


@dataclass(frozen=True)
class Instrument:
    """One row of the dump, with the values the loader must store."""

    instrument_token: int
    exchange_token: int
    tradingsymbol: str
    name: str
    last_price: Decimal
    expiry: date | None
    strike: Decimal
    tick_size: Decimal
    lot_size: int
    instrument_type: str
    segment: str
    exchange: str

    def csv_fields(self) -> list[str]:
        return [
            str(self.instrument_token), str(self.exchange_token), self.tradingsymbol, self.name,
            kite_decimal(self.last_price), self.expiry.isoformat() if self.expiry else "",
            kite_decimal(self.strike), kite_decimal(self.tick_size), str(self.lot_size),
            self.instrument_type, self.segment, self.exchange,
        ]  # fmt: skip


def kite_decimal(value: Decimal) -> str:
    """A decimal as Kite writes it (a Python float's look: 0.0, 24800.0, 0.05)."""
    text = format(value.normalize(), "f")
    return text if "." in text else f"{text}.0"


def _expiries(weekly: bool, as_of: date) -> list[date]:
    """The next three monthly expiries (last Thursday) and, for weekly contracts, the Thursdays."""
    months = []
    for ahead in range(4):
        month = as_of.month + ahead
        first_next = date(as_of.year + month // 12, month % 12 + 1, 1)
        last = first_next - timedelta(days=1)
        months.append(last - timedelta(days=(last.weekday() - 3) % 7))
    months = [m for m in months if m >= as_of][:3]
    if not weekly:
        return months
    thursday = as_of + timedelta(days=(3 - as_of.weekday()) % 7)
    weeks = [thursday + timedelta(weeks=w) for w in range(6)]
    return sorted({*months, *weeks})


def _is_monthly(expiry: date) -> bool:
    return (expiry + timedelta(weeks=1)).month != expiry.month


def _strike_text(strike: Decimal) -> str:
    return format(strike.normalize(), "f")


def _option_symbol(root: str, expiry: date, strike: Decimal, kind: str) -> str:
    if _is_monthly(expiry):
        return f"{root}{expiry:%y}{_MONTHS[expiry.month - 1]}{_strike_text(strike)}{kind}"
    return (
        f"{root}{expiry:%y}{_WEEKLY_MONTH[expiry.month - 1]}{expiry:%d}{_strike_text(strike)}{kind}"
    )


class _Builder:
    def __init__(self, seed: int, as_of: date) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - test data, not secrets
        self.as_of = as_of
        self.next_exchange_token: dict[int, int] = {}
        self.symbols: set[tuple[str, str]] = set()

    def make(self, segment: str, exchange: str, symbol: str, **values: object) -> Instrument:
        seg_id = _SEGMENT_IDS[segment]
        exchange_token = self.next_exchange_token.get(seg_id, 100 + self.rng.randrange(900))
        self.next_exchange_token[seg_id] = exchange_token + 1 + self.rng.randrange(3)
        self.symbols.add((exchange, symbol))
        fields: dict[str, object] = {
            "name": "", "last_price": Decimal("0.0"), "expiry": None, "strike": Decimal("0.0"),
            "tick_size": Decimal("0.05"), "lot_size": 1, "instrument_type": "EQ",
        }  # fmt: skip
        fields.update(values)
        return Instrument(
            instrument_token=exchange_token * 256 + seg_id,
            exchange_token=exchange_token,
            tradingsymbol=symbol,
            segment=segment,
            exchange=exchange,
            **fields,  # type: ignore[arg-type]
        )

    def price(self, around: int | Decimal, tick: Decimal = Decimal("0.05")) -> Decimal:
        ticks = int(Decimal(around) * Decimal(self.rng.uniform(0.2, 1.8)) / tick)
        return (ticks * tick).quantize(tick)

    def equity_name(self) -> str:
        roll = self.rng.random()
        if roll < 0.15:
            return ""
        if roll < 0.18:
            return self.rng.choice(_ODD_NAMES)
        words = self.rng.sample(_WORDS, self.rng.randint(1, 3))
        joiner = self.rng.choice((" ", " ", " ", " & ", "-"))
        return joiner.join(words)

    def equity_symbol(self, name: str, exchange: str) -> str:
        letters = "".join(c for c in name if c.isalnum() or c == " ")
        base = "".join(w[:4] for w in letters.split())[:10] or "BOND"
        if self.rng.random() < 0.03:
            base = f"{base[:3]}&{base[3:5] or 'M'}"
        suffix = self.rng.choice(("", "", "", "", "-BE", "-BL", "-SM", "-N5"))
        symbol = f"{base}{suffix}"
        n = 1
        while (exchange, symbol) in self.symbols:
            n += 1
            symbol = f"{base}{n}{suffix}"
        return symbol

    def equities(self, exchange: str) -> Iterator[Instrument]:
        for index in _INDICES if exchange == "NSE" else ():
            yield self.make("INDICES", exchange, index, name=index, tick_size=Decimal("0.0"),
                            lot_size=0)  # fmt: skip
        for root, spot, _, _, _ in _NFO:
            if root in _LISTED:
                yield self.make(exchange, exchange, root, name=_LISTED[root],
                                last_price=Decimal(spot), tick_size=Decimal("0.1"))  # fmt: skip
        while True:
            name = self.equity_name()
            if not name and self.rng.random() < 0.5:
                coupon = self.rng.choice(("850", "875", "903", "745"))
                symbol = f"{coupon}NHAI{self.rng.randint(26, 35)}-N{self.rng.randint(1, 9)}"
                if (exchange, symbol) in self.symbols:
                    continue
                yield self.make(exchange, exchange, symbol, tick_size=Decimal("0.01"))
                continue
            tick = self.rng.choice((Decimal("0.01"), Decimal("0.05"), Decimal("0.1")))
            yield self.make(
                exchange, exchange, self.equity_symbol(name, exchange), name=name,
                last_price=self.price(self.rng.choice((50, 400, 2500)), tick), tick_size=tick,
                lot_size=self.rng.choice((1, 1, 1, 100, 1000)),
            )  # fmt: skip

    def derivatives(
        self, exchange: str, underlyings: tuple[tuple[str, int, int, int, bool], ...]
    ) -> Iterator[Instrument]:
        strikes_each_side = 0
        while True:
            strikes_each_side += 10
            for root, spot, step, lot, weekly in underlyings:
                yield from self._chain(exchange, (root, spot, step, lot, weekly), strikes_each_side)

    def _chain(
        self, exchange: str, underlying: tuple[str, int, int, int, bool], width: int
    ) -> Iterator[Instrument]:
        root, spot, step, lot, weekly = underlying
        for expiry in _expiries(weekly, self.as_of):
            future = f"{root}{expiry:%y}{_MONTHS[expiry.month - 1]}FUT"
            if _is_monthly(expiry) and width == 10:
                yield self.make(f"{exchange}-FUT", exchange, future, name=root, expiry=expiry,
                                last_price=self.price(spot), lot_size=lot,
                                instrument_type="FUT")  # fmt: skip
            for offset in range(width - 10, width):
                for sign in (-1, 1):
                    strike = Decimal(
                        spot // step * step + (offset if sign > 0 else -offset - 1) * step
                    )
                    if strike <= 0:
                        continue
                    for kind in ("CE", "PE"):
                        symbol = _option_symbol(root, expiry, strike, kind)
                        if (exchange, symbol) in self.symbols:
                            continue
                        yield self.make(
                            f"{exchange}-OPT", exchange, symbol, name=root, expiry=expiry,
                            strike=strike, last_price=self.price(max(spot // 50, 1)),
                            lot_size=lot, instrument_type=kind,
                        )  # fmt: skip

    def commodities(self) -> Iterator[Instrument]:
        rows = tuple((root, spot, step, lot, False) for root, spot, step, lot in _MCX)
        yield from self.derivatives("MCX", rows)

    def currencies(self) -> Iterator[Instrument]:
        width = 0
        tick = Decimal("0.0025")
        while True:
            width += 1
            for root, spot, step, lot in _CDS:
                for expiry in _expiries(False, self.as_of):
                    for sign in (-1, 1):
                        strike = spot + sign * width * step
                        if strike <= 0:
                            continue
                        for kind in ("CE", "PE"):
                            yield self.make(
                                "CDS-OPT", "CDS", _option_symbol(root, expiry, strike, kind),
                                name=root, expiry=expiry, strike=strike, tick_size=tick,
                                last_price=self.price(1, tick), lot_size=lot,
                                instrument_type=kind,
                            )  # fmt: skip


def _stock_underlyings(rng: random.Random) -> tuple[tuple[str, int, int, int, bool], ...]:
    """About 150 stock underlyings besides the named ones, as NFO lists."""
    roots: dict[str, tuple[str, int, int, int, bool]] = {}
    while len(roots) < 150:
        first, second = rng.sample(_WORDS, 2)
        root = (first + second)[: rng.randint(5, 10)]
        spot = rng.randint(80, 6000)
        step = 5 if spot < 500 else 10 if spot < 2500 else 50
        roots.setdefault(root, (root, spot, step, rng.choice((250, 500, 700, 1200, 3000)), False))
    return tuple(roots.values())


def _counts(rows: int) -> dict[str, int]:
    counts = {kind: int(rows * share) for kind, share in _MIX}
    counts["nfo"] += rows - sum(counts.values())
    return counts


def instruments(rows: int, seed: int, *, as_of: date = DUMP_DATE) -> list[Instrument]:
    """`rows` instruments, always the same for the same (rows, seed, as_of).

    `as_of` is the dump's day: derivatives expire on the Thursdays after it.
    """
    builder = _Builder(seed, as_of)
    sources = {
        "nse": builder.equities("NSE"),
        "bse": builder.equities("BSE"),
        "nfo": builder.derivatives("NFO", _NFO + _stock_underlyings(builder.rng)),
        "bfo": builder.derivatives("BFO", _BFO),
        "mcx": builder.commodities(),
        "cds": builder.currencies(),
    }
    result: list[Instrument] = []
    for kind, count in _counts(rows).items():
        source = sources[kind]
        result.extend(next(source) for _ in range(count))
    return result


def write_dump(rows: list[Instrument], out: TextIO) -> None:
    """Write `rows` as Kite's CSV (header first, LF line ends, quoting only where needed)."""
    writer = csv.writer(out, lineterminator="\n")
    # QUOTE_MINIMAL quotes only the line terminator's characters, so a lone CR must be quoted
    # by hand: a row holding one is written with every field quoted.
    quote_all = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(HEADER)
    for item in rows:
        fields = item.csv_fields()
        (quote_all if any("\r" in f for f in fields) else writer).writerow(fields)


def generate_dump(rows: int, seed: int, out: TextIO) -> None:
    """Write a full dump of `rows` instruments generated from `seed`."""
    write_dump(instruments(rows, seed), out)


def reloaded(rows: int, seed: int, *, changed: float = 0.05, new: float = 0.01) -> list[Instrument]:
    """The dump of (rows, seed) a day later: `changed` of it repriced, `new` more listed."""
    base = instruments(rows, seed)
    rng = random.Random(seed + 1)  # noqa: S311 - test data, not secrets
    for index in rng.sample(range(len(base)), int(len(base) * changed)):
        old = base[index]
        tick = old.tick_size or Decimal("0.05")
        base[index] = replace(old, last_price=old.last_price + tick * rng.randint(1, 40))
    top = max((i.exchange_token for i in base), default=1000)
    for n in range(int(len(base) * new)):
        exchange_token = top + 1000 + n
        base.append(
            Instrument(
                instrument_token=exchange_token * 256 + _SEGMENT_IDS["NSE"],
                exchange_token=exchange_token,
                tradingsymbol=f"NEWLIST{n}",
                name=f"NEW LISTING {n} & CO",
                last_price=Decimal(rng.randint(100, 99999)) / 100,
                expiry=None,
                strike=Decimal("0.0"),
                tick_size=Decimal("0.01"),
                lot_size=1,
                instrument_type="EQ",
                segment="NSE",
                exchange="NSE",
            )
        )
    return base


def generate_reload(
    rows: int, seed: int, out: TextIO, *, changed: float = 0.05, new: float = 0.01
) -> None:
    """Write the reload variant of generate_dump(rows, seed): see `reloaded`."""
    write_dump(reloaded(rows, seed, changed=changed, new=new), out)
