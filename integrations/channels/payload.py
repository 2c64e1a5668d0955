"""Strict readers for channel payloads, shared by every adapter: each failure names its path.

Why one module: seven adapters read the same kinds of values (ids, yuan or fen amounts, Beijing
or unix times) and must fail the same way, so the dead-letter table shows one kind of reason
(``$.trades.trade[2].tid: ...``) whatever the channel.

* Envelope/shape problems raise ``ChannelPayloadError``; a wrong field value raises
  ``core.errors.InvalidOrderError`` (both name the JSON path).
* Ids never pass through a float. ``load_json`` keeps JSON integers exact and reads JSON
  fractions as ``Decimal``; ``ident`` refuses any non-integer number, because an id that
  arrives as a float has already lost digits upstream and storing it would merge two orders.
* Amounts go through ``core.money`` and times through ``core.clock``, the single conversions.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.clock import from_unix, parse_shanghai
from core.errors import InvalidAmountError, InvalidOrderError
from core.money import yuan_to_fen
from integrations.channels.base import ChannelPayloadError

# Platforms' "not happened yet" dates (京东 "0001-01-01 00:00:00", some "1970-01-01 ...").
_ZERO_DATES = ("0001", "1970")


def decode(payload: object) -> object:
    """Bytes -> text (UTF-8, a BOM tolerated); anything else is returned as is."""
    if not isinstance(payload, bytes | bytearray):
        return payload
    try:
        return bytes(payload).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ChannelPayloadError(f"$: not UTF-8 ({error.reason})") from None


def load_json(payload: object) -> Any:
    """Bytes/str -> JSON with exact integers and ``Decimal`` fractions; parsed objects pass."""
    payload = decode(payload)
    if not isinstance(payload, str):
        return payload
    try:
        return json.loads(payload, parse_float=Decimal, parse_constant=_no_constant)
    except ValueError as error:
        raise ChannelPayloadError(f"$: not JSON ({error})") from None


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def obj(value: object, path: str) -> Mapping[str, Any]:
    """``value`` as a JSON object, or a shape error at ``path``."""
    if not isinstance(value, Mapping):
        raise ChannelPayloadError(f"{path}: expected an object, got {type(value).__name__}")
    return value


def arr(value: object, path: str) -> list[Any]:
    """``value`` as a JSON list, or a shape error at ``path``."""
    if not isinstance(value, list):
        raise ChannelPayloadError(f"{path}: expected a list, got {type(value).__name__}")
    return value


def req(doc: Mapping[str, Any], key: str, path: str) -> Any:
    """A key the platform documents as always present; absent or null is a shape error."""
    if doc.get(key) is None:
        raise ChannelPayloadError(f"{path}.{key}: missing")
    return doc[key]


def items(doc: Mapping[str, Any], key: str, path: str) -> list[tuple[Mapping[str, Any], str]]:
    """The objects of the list ``doc[key]`` (absent/null = empty), each with its own path."""
    where = f"{path}.{key}"
    return [(obj(item, f"{where}[{i}]"), f"{where}[{i}]")
            for i, item in enumerate(arr(doc.get(key) or [], where))]


def ident(value: object, path: str) -> str:
    """An id at full precision, as a string: JSON integers and strings only, never floats."""
    if isinstance(value, float | Decimal):
        raise ChannelPayloadError(
            f"{path}: id given as a float ({value!r}); ids must be JSON integers or strings "
            "so that no digit is lost")
    if value is None:
        raise InvalidOrderError(path, "missing id")
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise InvalidOrderError(path, f"expected an id, got {value!r}")


def optional_ident(value: object, path: str) -> str | None:
    """An id that platforms leave empty or ``0`` when there is none."""
    if value in (None, "", 0, "0"):
        return None
    return ident(value, path)


def text(value: object, path: str) -> str | None:
    """Optional text; ``""`` counts as absent. Integers are kept as their exact digits."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidOrderError(path, f"expected a string, got {value!r}")


def positive_int(value: object, path: str) -> int:
    """A count (quantity): a JSON integer or a digit string, above zero."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if type(value) is not int or value <= 0:
        raise InvalidOrderError(path, f"expected a positive integer, got {value!r}")
    return value


def yuan(value: object, path: str, *, default: int | None = 0) -> int:
    """Yuan ("12.30", 12.3 or 12) -> integer fen; absent gives ``default`` (None = required)."""
    if value is None or value == "":
        if default is None:
            raise InvalidOrderError(path, "missing amount")
        return default
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise InvalidOrderError(path, f"not an amount: {value!r}")
    try:
        return yuan_to_fen(value)
    except InvalidAmountError as error:
        raise InvalidOrderError(path, str(error)) from None


def fen(value: object, path: str, *, default: int | None = 0) -> int:
    """An amount the platform already sends as integer fen (分)."""
    if value is None:
        if default is None:
            raise InvalidOrderError(path, "missing amount")
        return default
    if type(value) is not int or value < 0:
        raise InvalidOrderError(path, f"expected a non-negative integer of fen, got {value!r}")
    return value


def shanghai_time(value: object, path: str) -> datetime:
    """A required "YYYY-MM-DD HH:MM:SS" Beijing time (fractional seconds dropped) -> aware UTC."""
    moment = optional_shanghai_time(value, path)
    if moment is None:
        raise InvalidOrderError(path, "missing time")
    return moment


def optional_shanghai_time(value: object, path: str) -> datetime | None:
    """Beijing time or ``None`` for empty and the platforms' zero dates ("not yet")."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidOrderError(path, f"expected 'YYYY-MM-DD HH:MM:SS', got {value!r}")
    if value[:4] in _ZERO_DATES:
        return None
    stamp = value[:19] if value[19:20] == "." else value  # "...:39.683" (JOS) keeps seconds
    try:
        return parse_shanghai(stamp, path)
    except ValueError as error:
        raise InvalidOrderError(path, str(error).split(": ", 1)[-1]) from None


def unix_time(value: object, path: str) -> datetime:
    """Required unix seconds (int or digit string) -> aware UTC."""
    moment = optional_unix_time(value, path)
    if moment is None:
        raise InvalidOrderError(path, "missing time")
    return moment


def optional_unix_time(value: object, path: str) -> datetime | None:
    """Unix seconds, or ``None`` for absent and ``0`` (the platforms' "not happened yet")."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidOrderError(path, f"expected unix seconds, got {value!r}")
    try:
        return from_unix(value, path)
    except ValueError as error:
        raise InvalidOrderError(path, str(error).split(": ", 1)[-1]) from None


def unquote_plus(text: str) -> str:
    """``urllib.parse.unquote_plus`` at C speed for the large percent-encoded JSON some pushes
    carry (有赞 ``msg``: ~500 escapes, 220 µs in urllib's Python loop, ~10 µs here).

    ``%XX`` becomes ``\\xXX`` for the ``unicode_escape`` codec, whose bytes are then read as
    UTF-8. Valid only without literal backslashes (a compliant encoder escapes them as ``%5C``);
    anything else, or malformed escapes, takes urllib's path, which is always right.
    """
    if "\\" in text or not text.isascii():
        return urllib.parse.unquote_plus(text)
    try:
        raw = text.replace("+", " ").replace("%", "\\x").encode("ascii")
        return raw.decode("unicode_escape").encode("latin-1").decode("utf-8")
    except (UnicodeDecodeError, UnicodeEncodeError):
        return urllib.parse.unquote_plus(text)
