"""Turning ingress text into documents (and back), with one error type for every refusal.

A refusal's reason names the fields at fault and the rule each broke, never
the values: a document may carry secrets, and the reason ends up in logs and
dead letters (which keep the original document themselves).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import TypeAdapter, ValidationError

from actors.documents.json_text import check_value, dump_json, load_json
from actors.documents.models import DOCUMENT_TYPES, IngressDocument, OrderFilled
from actors.errors import InvalidDocumentError

MAX_REPORTED_ERRORS = 10
_MAX_LOCATION_PART = 64

_ADAPTER: TypeAdapter[IngressDocument] = TypeAdapter(IngressDocument)


def _location(parts: tuple[int | str, ...]) -> str:
    return ".".join(str(part)[:_MAX_LOCATION_PART] for part in parts) or "document"


def _reason(error: ValidationError) -> str:
    details = error.errors(include_url=False, include_input=False, include_context=False)
    problems = [
        f"{_location(detail['loc'])}: {detail['msg'].removeprefix('Value error, ')}"
        for detail in details[:MAX_REPORTED_ERRORS]
    ]
    if len(details) > MAX_REPORTED_ERRORS:
        problems.append(f"and {len(details) - MAX_REPORTED_ERRORS} more")
    return "; ".join(problems)


def _validate(value: Any) -> IngressDocument:
    if not isinstance(value, dict):
        raise InvalidDocumentError("document must be a JSON object")
    kind = value.get("type")
    if kind is None:
        raise InvalidDocumentError("type: Field required")
    if not isinstance(kind, str) or kind not in DOCUMENT_TYPES:
        raise InvalidDocumentError(
            f"type: unknown document type (expected one of {', '.join(DOCUMENT_TYPES)})"
        )
    try:
        return _ADAPTER.validate_python(value)
    except ValidationError as error:
        raise InvalidDocumentError(_reason(error)) from None


def parse_document(raw: bytes | str) -> IngressDocument:
    """Parse one ingress document; any breach of the contract raises `InvalidDocumentError`."""
    return _validate(load_json(raw))


def parse_journaled_fill(event_data: Mapping[str, Any]) -> OrderFilled:
    """Rebuild a fill from the `event_data` its journal row holds, under the same rules."""
    value = dict(event_data)
    check_value(value)
    document = _validate(value)
    if not isinstance(document, OrderFilled):
        raise InvalidDocumentError("journaled event data is not an order_filled document")
    return document


def dump_document(document: IngressDocument) -> str:
    """The document as contract JSON text; `parse_document` reads it back as an equal one."""
    return dump_json(document.to_document())
