"""Text and JSON views of an order for people at a terminal (``orderbot order ...``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from core.clock import SHANGHAI
from core.events import OrderEvent, canonical_json, verify_chain
from core.ingest import StoredOrder
from core.masking import mask_address, mask_phone
from core.order import Order, to_canonical
from core.states import OrderState, label


def masked(order: Order) -> Order:
    receiver = order.receiver
    return replace(order, receiver=replace(receiver, phone=mask_phone(receiver.phone),
                                           address=mask_address(receiver.address)))


def render_order(stored: StoredOrder, *, reveal: bool = False) -> dict[str, Any]:
    """The canonical JSON plus what storage knows about it (version, holds, chain head)."""
    order = stored.order if reveal else masked(stored.order)
    return to_canonical(order) | {
        "_meta": {"key": order.key, "version": stored.version, "holds": list(stored.holds),
                  "events": stored.head.seq, "status_label": label(order.status)}
    }


def render_trace(key: str, events: Sequence[OrderEvent]) -> str:
    lines = [f"order {key}: {len(events)} events"]
    for event in events:
        at = event.at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"#{event.seq:<3} {at}  {event.kind:<14} by {event.actor:<18} "
                     f"{_describe(event)}")
    lines.append(verify_chain(events).describe())
    return "\n".join(lines)


def _describe(event: OrderEvent) -> str:
    data = event.data
    if event.kind == "state_changed" and {"from", "to"} <= set(data):
        src, dst = OrderState(data["from"]), OrderState(data["to"])
        return f"{label(src)} -> {label(dst)}" + (f" ({data['reason']})" if "reason" in data
                                                  else "")
    if event.kind == "ingested":
        return f"status {label(OrderState(data['status']))}"
    if event.kind == "updated":
        return "changed: " + ", ".join(data.get("changed", []))
    return canonical_json(dict(data))
