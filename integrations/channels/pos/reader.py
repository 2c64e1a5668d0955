"""Small, strict readers for platform JSON: every failure names the JSON path.

Why a reader per channel package: the adapters must not share private helpers with packages
owned by other people; once the channel owners agree, this can move to one shared module.
Ids never pass through a float: ``load_json`` reads floats as ``Decimal`` and ``ident`` refuses
any non-integer number, so an id that already lost its precision upstream is rejected loudly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import from_unix, parse_shanghai
from core.errors import InvalidAmountError, InvalidOrderError
from core.money import yuan_to_fen
from integrations.channels.base import ChannelPayloadError


def load_json(payload: object) -> Any:
    """Bytes/str -> JSON with exact integers; an already-parsed object is returned as is."""
    if isinstance(payload, bytes | bytearray):
        payload = bytes(payload).decode("utf-8-sig")
    if not isinstance(payload, str):
        return payload
    try:
        return json.loads(payload, parse_float=Decimal, parse_constant=_no_constant)
    except (ValueError, TypeError) as error:
        raise ChannelPayloadError(f"$: not valid JSON: {error}") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def obj(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ChannelPayloadError(f"{path}: expected an object")
    return value


def arr(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ChannelPayloadError(f"{path}: expected a list")
    return value


def req(doc: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in doc or doc[key] is None:
        raise ChannelPayloadError(f"{path}.{key}: missing")
    return doc[key]


def ident(value: object, path: str) -> str:
    """An id as a string at full precision: digit strings and JSON integers only, never floats."""
    if isinstance(value, bool | float | Decimal):
        raise ChannelPayloadError(f"{path}: id {value!r} is not an integer or string "
                                  "(a float cannot hold large ids exactly)")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise ChannelPayloadError(f"{path}: expected an id, got {value!r}")


def text(value: object, path: str) -> str | None:
    """Optional text; ``""`` counts as absent. Integers are accepted and kept exact."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidOrderError(path, f"expected text, got {value!r}")
    return str(value)


def integer(value: object, path: str) -> int:
    """A count: a JSON integer or a digit string."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidOrderError(path, f"expected an integer, got {value!r}")
    return value


def yuan(value: object, path: str) -> int:
    """Yuan ("12.30", 12.3 or 12) -> fen; a bad amount names its path."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidOrderError(path, f"not an amount: {value!r}")
    try:
        return yuan_to_fen(value)
    except InvalidAmountError as error:
        raise InvalidOrderError(path, str(error)) from None


def fen(value: object, path: str) -> int:
    """An amount already in integer fen."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidOrderError(path, f"expected a non-negative integer of fen, got {value!r}")
    return value


def shanghai(value: object, path: str) -> datetime | None:
    """"YYYY-MM-DD HH:MM:SS" Beijing time -> aware UTC; empty and the platforms' zero dates
    ("0001-01-01 00:00:00", "1970-01-01 ...") mean "not yet"."""
    if value is None or value == "" or (isinstance(value, str) and value[:4] in ("0001", "1970")):
        return None
    if not isinstance(value, str):
        raise InvalidOrderError(path, f"expected 'YYYY-MM-DD HH:MM:SS', got {value!r}")
    try:
        return parse_shanghai(value[:19], path)
    except ValueError as error:
        raise InvalidOrderError(path, str(error).split(": ", 1)[-1]) from None


def unix(value: object, path: str) -> datetime | None:
    """Unix seconds (0 or absent means "not yet") -> aware UTC."""
    if value is None or value == 0 or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidOrderError(path, f"expected unix seconds, got {value!r}")
    try:
        return from_unix(value, path)
    except ValueError as error:
        raise InvalidOrderError(path, str(error).split(": ", 1)[-1]) from None
