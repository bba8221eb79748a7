"""Bounded, exact JSON: reading untrusted ingress text and writing documents back.

Reading protects the daemon before any model sees the data: the raw text is
limited in size and nesting depth (checked on the text, so a hostile document
never reaches the recursive parser), duplicate keys are refused (two parsers
could otherwise disagree on a document's meaning), NaN and Infinity are
refused, numbers with a fraction or exponent become exact `Decimal`s, and every
string must be storable in PostgreSQL (no NUL, no lone surrogate).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from actors.errors import InvalidDocumentError

MAX_DOCUMENT_BYTES = 64 * 1024
MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 40
MAX_NUMBER_EXPONENT = 100

_STRUCTURAL = re.compile(r'[\[\]{}"\\]')


def _decode(raw: bytes | str) -> str:
    if isinstance(raw, str):
        if len(raw) > MAX_DOCUMENT_BYTES or len(raw.encode("utf-8", "surrogatepass")) > (
            MAX_DOCUMENT_BYTES
        ):
            raise InvalidDocumentError(f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
        return raw
    if not isinstance(raw, bytes | bytearray | memoryview):
        raise InvalidDocumentError("document must be bytes or text")
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise InvalidDocumentError(f"document is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidDocumentError(f"document is not UTF-8 (byte {error.start})") from None


def _check_depth(text: str) -> None:
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    in_string = False
    escaped_at = -1
    for match in _STRUCTURAL.finditer(text):
        position, char = match.start(), match.group()
        if in_string:
            if position == escaped_at:
                continue
            if char == "\\":
                escaped_at = position + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InvalidDocumentError(f"document is nested deeper than {MAX_DEPTH} levels")
        elif char in "]}":
            depth -= 1


def _refuse_constant(name: str) -> Any:
    raise InvalidDocumentError(f"{name} is not a number this contract accepts")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise InvalidDocumentError("an object repeats a key")
    return result


def _check_string(value: str) -> None:
    if "\x00" in value:
        raise InvalidDocumentError("a string contains NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidDocumentError("a string contains a lone surrogate") from None


def check_number(value: int | Decimal) -> None:
    """Refuse numbers no producer sends on purpose: too many digits or a huge exponent."""
    if isinstance(value, int):
        if abs(value) >= 10**MAX_NUMBER_DIGITS:
            raise InvalidDocumentError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
        return
    if (
        len(value.as_tuple().digits) > MAX_NUMBER_DIGITS
        or abs(value.adjusted()) > MAX_NUMBER_EXPONENT
    ):
        raise InvalidDocumentError(
            f"a number has more than {MAX_NUMBER_DIGITS} digits or an exponent beyond "
            f"±{MAX_NUMBER_EXPONENT}"
        )


def check_value(value: Any) -> None:
    """Walk a parsed JSON value, applying the string and number rules everywhere."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_string(item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int | Decimal):
            check_number(item)
        elif isinstance(item, dict):
            for key, member in item.items():
                if not isinstance(key, str):
                    raise InvalidDocumentError("an object key is not a string")
                _check_string(key)
                stack.append(member)
        elif isinstance(item, list):
            stack.extend(item)
        else:
            raise InvalidDocumentError(f"{type(item).__name__} is not a JSON value")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise InvalidDocumentError(f"a number has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _parse_decimal(text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InvalidDocumentError("a number is beyond the range of exact decimals")
    check_number(number)
    return number


_DECODER = json.JSONDecoder(
    parse_float=_parse_decimal,
    parse_int=_parse_int,
    parse_constant=_refuse_constant,
    object_pairs_hook=_unique_keys,
)


def _strings_need_checking(raw: bytes | str, text: str) -> bool:
    """False when no string of `text` can hold NUL or a lone surrogate.

    The decoder refuses raw control characters inside strings, and strict UTF-8
    decoding refuses encoded surrogates, so from bytes both can only arrive as
    `\\u` escapes; text handed in as `str` may hold a raw surrogate unless ASCII.
    """
    return "\\u" in text or (isinstance(raw, str) and not text.isascii())


def load_json(raw: bytes | str) -> Any:
    """Parse untrusted JSON text within the bounds above; `InvalidDocumentError` otherwise."""
    text = _decode(raw)
    _check_depth(text)
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        raise InvalidDocumentError(
            f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except RecursionError:
        raise InvalidDocumentError(f"document is nested deeper than {MAX_DEPTH} levels") from None
    # Numbers were checked by the decoder's hooks as they were read; only strings are left.
    if _strings_need_checking(raw, text):
        check_value(value)
    return value


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for index, (key, member) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _write(member, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, member in enumerate(value):
            if index:
                out.append(",")
            _write(member, out)
        out.append("]")
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite Decimal has no JSON form")
        out.append(str(value))
    elif value is None or isinstance(value, str | int | bool):
        out.append(json.dumps(value, ensure_ascii=False))
    else:
        raise TypeError(f"{type(value).__name__} is not a JSON value")


def dump_json(value: Any) -> str:
    """Compact JSON in which a `Decimal` is written as the exact JSON number it came from."""
    out: list[str] = []
    _write(value, out)
    return "".join(out)
