"""The domain decision behind "an order arrived": create, update, or nothing to do.

Pure: the caller loads what is stored (order, chain head, holds) and writes what comes back.
Identity is ``(channel, channel_order_id)``, so the same order arriving twice is at most an
update, never a second order. Status moves go through ``core.states.reconcile``: the channel
may skip states we never saw, and a channel lagging behind our own progress changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from core.events import ChainHead, OrderEvent, append_event, canonical_json
from core.order import Order, to_canonical
from core.states import reconcile


class IngestKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """What storage knows about an order before the new version arrives."""

    order: Order
    head: ChainHead
    holds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class IngestResult:
    kind: IngestKind
    order: Order
    events: tuple[OrderEvent, ...]

    @property
    def head(self) -> ChainHead | None:
        return self.events[-1].head if self.events else None


def content_hash(order: Order) -> str:
    """SHA-256 of the canonical JSON without ``status`` (status changes are events of their own)."""
    doc = to_canonical(order)
    doc.pop("status")
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def ingest(
    incoming: Order, stored: StoredOrder | None, *, at: datetime, source: str
) -> IngestResult:
    """Decide what storing ``incoming`` means. Raises on an impossible status move."""
    if stored is None:
        event = append_event(
            ChainHead(), incoming.key, at=at, actor=source, kind="ingested",
            data={"status": incoming.status.value, "content_hash": content_hash(incoming)},
        )  # fmt: skip
        return IngestResult(IngestKind.CREATED, incoming, (event,))
    steps = reconcile(stored.order.status, incoming.status, stored.holds)
    merged = replace(incoming, status=steps[-1] if steps else stored.order.status)
    changed = changed_fields(stored.order, merged)
    events: list[OrderEvent] = []
    head = stored.head
    if changed:
        data = {"changed": changed, "content_hash": content_hash(merged)}
        events.append(append_event(head, merged.key, at=at, actor=source, kind="updated",
                                   data=data))
        head = events[-1].head
    source_state = stored.order.status
    for step in steps:
        data = {"from": source_state.value, "to": step.value, "via": "channel",
                "channel_status": incoming.channel_status}
        events.append(append_event(head, merged.key, at=at, actor=source,
                                   kind="state_changed", data=data))
        head, source_state = events[-1].head, step
    kind = IngestKind.UPDATED if events else IngestKind.UNCHANGED
    return IngestResult(kind, merged if events else stored.order, tuple(events))


def changed_fields(old: Order, new: Order) -> list[str]:
    """Top-level canonical fields that differ, excluding status."""
    before, after = to_canonical(old), to_canonical(new)
    return [name for name in after if name != "status" and before[name] != after[name]]
