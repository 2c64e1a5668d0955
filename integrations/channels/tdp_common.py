"""Payload helpers shared by the 淘宝 (taobao), 抖店 (douyin) and 拼多多 (pdd) adapters.

Every reader here takes the JSON path it is reading, so a malformed payload is reported as
``ChannelPayloadError``/``InvalidOrderError`` naming the exact place (``$.trades.trade[2].tid``)
and the pipeline can dead-letter it with a useful reason.

Ids: several platforms' ids exceed 2**53. ``load_json`` uses ``json.loads``, which keeps JSON
integers exact; ``require_id`` turns them into strings and refuses a float, because a float id
has already lost digits somewhere upstream and storing it would silently merge two orders.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from core.clock import from_unix, parse_shanghai
from core.errors import InvalidAmountError, InvalidOrderError
from core.money import yuan_to_fen
from integrations.channels.base import ChannelPayloadError


class ChannelAuthError(Exception):
    """The platform refused our credentials (bad signature, expired token, unknown app key).

    Not retryable: a person has to re-authorise the shop or fix its configuration.
    """


def load_json(payload: Any) -> Any:
    """bytes/str -> parsed JSON (ints exact); already-parsed objects pass through."""
    if isinstance(payload, bytes | bytearray):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ChannelPayloadError(f"$: not UTF-8 ({error.reason})") from None
    if isinstance(payload, str):
        try:
            return json.loads(payload)
        except json.JSONDecodeError as error:
            raise ChannelPayloadError(f"$: not JSON ({error.msg} at {error.pos})") from None
    return payload


def obj(value: object, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ChannelPayloadError(f"{path}: expected an object, got {type(value).__name__}")
    return value


def arr(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise ChannelPayloadError(f"{path}: expected a list, got {type(value).__name__}")
    return value


def require_id(value: object, path: str) -> str:
    """An id at full precision, as a string. Floats are refused (precision already lost)."""
    if isinstance(value, bool) or value is None:
        raise InvalidOrderError(path, "missing id")
    if isinstance(value, float):
        raise ChannelPayloadError(
            f"{path}: id given as a float ({value!r}); ids must be JSON integers or strings "
            "so that no digit is lost"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InvalidOrderError(path, f"expected an id, got {value!r}")


def optional_id(value: object, path: str) -> str | None:
    if value is None or value == "" or value == 0:
        return None
    return require_id(value, path)


def text(value: object, path: str) -> str | None:
    """A text field: ``None``/empty -> ``None``; numbers are kept as their exact digits."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidOrderError(path, f"expected a string, got {value!r}")


def fen_from_yuan(value: object, path: str, *, default: int | None = 0) -> int:
    """Yuan (string like "12.30", or a JSON number) -> integer fen."""
    if value is None or value == "":
        if default is None:
            raise InvalidOrderError(path, "missing amount")
        return default
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise InvalidOrderError(path, f"not an amount: {value!r}")
    try:
        return yuan_to_fen(value)
    except InvalidAmountError as error:
        raise InvalidOrderError(path, str(error)) from None


def fen_int(value: object, path: str, *, default: int | None = 0) -> int:
    """An amount that the platform already sends as integer fen (分)."""
    if value is None:
        if default is None:
            raise InvalidOrderError(path, "missing amount")
        return default
    if type(value) is not int or value < 0:
        raise InvalidOrderError(path, f"expected a non-negative integer of fen, got {value!r}")
    return value


def positive_int(value: object, path: str) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if type(value) is not int or value <= 0:
        raise InvalidOrderError(path, f"expected a positive integer, got {value!r}")
    return value


def shanghai_time(value: object, path: str) -> datetime:
    """"YYYY-MM-DD HH:MM:SS" Beijing time -> aware UTC."""
    if not isinstance(value, str):
        raise InvalidOrderError(path, f"expected 'YYYY-MM-DD HH:MM:SS', got {value!r}")
    try:
        return parse_shanghai(value, path)
    except ValueError as error:
        raise InvalidOrderError(path, str(error).split(": ", 1)[-1]) from None


def optional_shanghai_time(value: object, path: str) -> datetime | None:
    return None if value in (None, "") else shanghai_time(value, path)


def unix_time(value: object, path: str) -> datetime:
    """Unix seconds (int or digit string) -> aware UTC."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidOrderError(path, f"expected unix seconds, got {value!r}")
    try:
        return from_unix(value, path)
    except ValueError as error:
        raise InvalidOrderError(path, str(error).split(": ", 1)[-1]) from None


def optional_unix_time(value: object, path: str) -> datetime | None:
    """0 / missing means "not happened yet" on these platforms."""
    return None if value in (None, "", 0, "0") else unix_time(value, path)
