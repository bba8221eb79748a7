"""JSON for JSONB columns: Decimal is written as a string and read back exactly.

Money is never a float, so a Decimal is serialised as its exact string and
JSON numbers with a fraction are parsed as Decimal, not float.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} cannot be stored as a JSON decimal")
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(obj: Any) -> str:
    """Compact JSON with Decimal, UUID and datetime written as strings."""
    return json.dumps(obj, default=_default, separators=(",", ":"), allow_nan=False)


def loads(data: str | bytes) -> Any:
    """Parse JSON, reading numbers with a fraction or exponent as Decimal."""
    return json.loads(data, parse_float=Decimal)
