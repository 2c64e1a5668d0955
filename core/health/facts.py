"""Facts about an order that the canonical contract does not carry but some rules need.

Weight and promised delivery time choose a carrier; custom-made lines (家居定制: a sofa made to
measure) carry a category, a spec and attached files (户型图, 设计图). Channels and the custom
order form supply these; in the ``orderbot check`` input they are optional keys next to the
canonical fields (``weight_g``, ``promise_hours``, ``custom``), ignored by ``from_canonical``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.errors import InvalidOrderError

SpecValue = str | float | bool


@dataclass(frozen=True, slots=True)
class CustomSpec:
    """One made-to-order line: its category, measured spec and the kinds of files attached."""

    sku: str
    category: str
    spec: Mapping[str, SpecValue] = field(default_factory=dict)
    attachments: tuple[str, ...] = ()  # kinds, e.g. "floor_plan", "drawing", "photo"


@dataclass(frozen=True, slots=True)
class OrderFacts:
    weight_g: int | None = None  # None: from the per-SKU weights in config, if all are known
    promise_hours: float | None = None  # delivery promised within this many hours
    custom: tuple[CustomSpec, ...] = ()


NO_FACTS = OrderFacts()


def facts_from_json(doc: Mapping[str, Any]) -> OrderFacts:
    """Read the optional fact keys of one input line; a wrong one raises naming the field."""
    weight = doc.get("weight_g")
    if weight is not None and (type(weight) is not int or weight < 0):
        raise InvalidOrderError("weight_g", "expected a non-negative integer of grams")
    promise = doc.get("promise_hours")
    if promise is not None and (not _number(promise) or promise <= 0):
        raise InvalidOrderError("promise_hours", "expected a positive number of hours")
    raw = doc.get("custom") or []
    if not isinstance(raw, list):
        raise InvalidOrderError("custom", "expected a list")
    custom = tuple(_custom(item, f"custom[{i}]") for i, item in enumerate(raw))
    if weight is None and promise is None and not custom:
        return NO_FACTS
    return OrderFacts(weight, None if promise is None else float(promise), custom)


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _custom(item: object, where: str) -> CustomSpec:
    if not isinstance(item, Mapping):
        raise InvalidOrderError(where, "expected an object")
    for key in ("sku", "category"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise InvalidOrderError(f"{where}.{key}", "expected a non-empty string")
    spec = item.get("spec") or {}
    if not isinstance(spec, Mapping) or not all(
            isinstance(v, str | bool) or _number(v) for v in spec.values()):
        raise InvalidOrderError(f"{where}.spec", "expected an object of strings and numbers")
    files = item.get("attachments") or []
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise InvalidOrderError(f"{where}.attachments", "expected a list of strings")
    return CustomSpec(item["sku"], item["category"], dict(spec), tuple(files))
