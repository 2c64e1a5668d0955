"""What a chat message asks for: its intents, the entities it names, and how sure we are.

A message can carry two intents ("急单 1234567 加个五金包"): ``intent`` is the primary one,
``secondary`` the other. A message can also *withdraw* an intent ("地址不用改了", "不急了",
"算了不退了"): such an intent is reported like any other and listed in ``retracted``, so the
task layer finds the open task of that kind for the order and closes it instead of opening one.
Intents still meant always rank above withdrawn ones, so "不退了，帮我改地址 ..." has
``intent="change_address"``, ``secondary="refund_return"``, ``retracted=("refund_return",)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Intent = Literal["urgent", "change_address", "cancel_order", "refund_return", "invoice",
                 "query_status", "add_item", "complaint", "other"]
INTENTS: tuple[Intent, ...] = ("urgent", "change_address", "cancel_order", "refund_return",
                               "invoice", "query_status", "add_item", "complaint", "other")

# Which of two meant intents is primary: a concrete action first (the earliest mentioned among
# actions), then urgency (a modifier of whatever else is asked), then a status question, then a
# complaint. ``tests/data/intent/README.md`` labels by the same rule.
ACTIONS: frozenset[str] = frozenset(
    {"change_address", "cancel_order", "refund_return", "add_item", "invoice"})
RANK: dict[str, int] = {"urgent": 1, "query_status": 2, "complaint": 3, "other": 4}


@dataclass(frozen=True, slots=True)
class Address:
    """A new delivery address read from the message (by ``core.address.parse_address``)."""

    province: str | None
    city: str | None
    district: str | None
    detail: str
    candidates: tuple[tuple[str, str, str], ...] = ()
    complete: bool = False

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1


@dataclass(frozen=True, slots=True)
class Entities:
    """Normalised entities in order of appearance (ASCII digits, upper-case codes, 11-digit
    phones). ``carriers`` holds the carrier guessed for each tracking number ("" if unknown)."""

    order_nos: tuple[str, ...] = ()
    tracking_nos: tuple[str, ...] = ()
    carriers: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    new_address: Address | None = None
    products: tuple[str, ...] = ()

    @property
    def has_reference(self) -> bool:
        """Something an order can be found by."""
        return bool(self.order_nos or self.tracking_nos or self.phones)


@dataclass(frozen=True, slots=True)
class IntentResult:
    intent: Intent
    secondary: Intent | None
    confidence: float
    entities: Entities
    retracted: tuple[Intent, ...] = ()
    scores: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def is_retraction(self) -> bool:
        """The primary intent is withdrawn ("不用改了"): close a task, do not open one."""
        return self.intent in self.retracted


def address_json(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    return {"province": address.province, "city": address.city, "district": address.district,
            "detail": address.detail, "ambiguous": address.ambiguous,
            "complete": address.complete,
            "candidates": [list(c) for c in address.candidates]}


def result_json(result: IntentResult) -> dict[str, Any]:
    """The ``orderbot intent`` line: the issue's fixed keys plus ``retracted`` and the full
    entity lists (``order_no``/``tracking_no``/``phone`` are the first of each)."""
    found = result.entities
    return {
        "intent": result.intent, "secondary": result.secondary,
        "confidence": round(result.confidence, 3), "retracted": list(result.retracted),
        "entities": {
            "order_no": found.order_nos[0] if found.order_nos else None,
            "tracking_no": found.tracking_nos[0] if found.tracking_nos else None,
            "phone": found.phones[0] if found.phones else None,
            "new_address": address_json(found.new_address),
            "products": list(found.products),
            "order_nos": list(found.order_nos), "tracking_nos": list(found.tracking_nos),
            "carriers": list(found.carriers),
        },
    }
