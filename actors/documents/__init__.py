"""Ingress documents: the contract's JSON messages, parsed strictly and exactly."""

from actors.documents.models import (
    MARKET_TICK,
    ORDER_FILLED,
    TRADING_EVENT,
    IngressDocument,
    JournalRecord,
    MarketTick,
    OrderFilled,
    TradingEvent,
)
from actors.documents.parse import dump_document, parse_document, parse_journaled_fill

__all__ = [
    "MARKET_TICK",
    "ORDER_FILLED",
    "TRADING_EVENT",
    "IngressDocument",
    "JournalRecord",
    "MarketTick",
    "OrderFilled",
    "TradingEvent",
    "dump_document",
    "parse_document",
    "parse_journaled_fill",
]
