"""The three ingress documents of the contract, and what the journal keeps of them.

Optional fields may be omitted or null, which mean the same (an absent `fees`
is 0). A `trading_event` may not call itself `order_filled`: that event type
is reserved for journaled fills, which portfolios replay.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Final, Literal, TypedDict
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from actors.documents.fields import (
    BrokerNamespace,
    EventId,
    Fees,
    Identifier,
    InstrumentToken,
    Price,
    Quantity,
    Side,
    Timestamp,
)

ORDER_FILLED: Final = "order_filled"
MARKET_TICK: Final = "market_tick"
TRADING_EVENT: Final = "trading_event"


def _absent_is_zero(value: Any) -> Any:
    return Decimal(0) if value is None else value


class JournalRecord(TypedDict):
    """The columns of one `trading_events` row that an ingress document supplies."""

    event_id: UUID
    event_type: str
    broker_namespace: str
    portfolio_id: str | None
    strategy_id: str | None
    instrument_token: int | None
    correlation_id: str | None
    event_timestamp: datetime
    event_data: dict[str, Any]


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_document(self) -> dict[str, Any]:
        """The contract's JSON form: decimals as exact strings, absent optionals left out."""
        return {key: value for key, value in self.model_dump().items() if value is not None}


class OrderFilled(_Document):
    """A broker fill of `quantity` units at `price` for one portfolio."""

    type: Literal["order_filled"] = ORDER_FILLED
    event_id: EventId
    broker_namespace: BrokerNamespace
    portfolio_id: Identifier
    strategy_id: Identifier
    instrument_token: InstrumentToken
    side: Side
    quantity: Quantity
    price: Price
    fees: Annotated[Fees, BeforeValidator(_absent_is_zero)] = Decimal(0)
    filled_at: Timestamp
    order_id: Identifier | None = None
    correlation_id: Identifier | None = None

    def to_journal_record(self) -> JournalRecord:
        """The journal row of this fill; `event_data` is the whole document, replayable."""
        return JournalRecord(
            event_id=self.event_id,
            event_type=ORDER_FILLED,
            broker_namespace=self.broker_namespace,
            portfolio_id=self.portfolio_id,
            strategy_id=self.strategy_id,
            instrument_token=self.instrument_token,
            correlation_id=self.correlation_id,
            event_timestamp=self.filled_at,
            event_data=self.to_document(),
        )


class MarketTick(_Document):
    """The latest traded price of an instrument; never journaled."""

    type: Literal["market_tick"] = MARKET_TICK
    instrument_token: InstrumentToken
    last_price: Price
    timestamp: Timestamp


class TradingEvent(_Document):
    """Any other event a service wants journaled; `event_data` is an arbitrary JSON object.

    Numbers in `event_data` are kept exact: integers as `int`, the rest as `Decimal`.
    """

    type: Literal["trading_event"] = TRADING_EVENT
    event_id: EventId
    event_type: Identifier
    broker_namespace: BrokerNamespace
    strategy_id: Identifier | None = None
    instrument_token: InstrumentToken | None = None
    correlation_id: Identifier | None = None
    event_timestamp: Timestamp
    event_data: Annotated[dict[str, Any], Field(strict=True)]

    @field_validator("event_type")
    @classmethod
    def _not_a_fill(cls, event_type: str) -> str:
        if event_type == ORDER_FILLED:
            raise ValueError("order_filled is reserved for order_filled documents")
        return event_type

    def to_journal_record(self) -> JournalRecord:
        """The journal row of this event."""
        return JournalRecord(
            event_id=self.event_id,
            event_type=self.event_type,
            broker_namespace=self.broker_namespace,
            portfolio_id=None,
            strategy_id=self.strategy_id,
            instrument_token=self.instrument_token,
            correlation_id=self.correlation_id,
            event_timestamp=self.event_timestamp,
            event_data=dict(self.event_data),
        )


IngressDocument = Annotated[OrderFilled | MarketTick | TradingEvent, Field(discriminator="type")]
"""Any ingress document, told apart by its `type`."""

DOCUMENT_TYPES: dict[str, type[OrderFilled | MarketTick | TradingEvent]] = {
    ORDER_FILLED: OrderFilled,
    MARKET_TICK: MarketTick,
    TRADING_EVENT: TradingEvent,
}
