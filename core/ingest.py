"""The domain decision behind "an order arrived": create, update, or nothing to do.

Pure: the caller loads what is stored (order, chain head, holds) and writes what comes back.
Identity is ``(channel, channel_order_id)``, so the same order arriving twice is at most an
update, never a second order. Status moves go through ``core.states.reconcile``: the channel
may skip states we never saw, and a channel lagging behind our own progress changes nothing.
A forward status for a held order is recorded as deferred, not refused (``core.held_status``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from core.events import ChainHead, OrderEvent, append_event, canonical_json
from core.held_status import (
    CLEARED_BY_MOVE,
    DeferredStatus,
    channel_steps,
    deferral_event,
    from_event,
    plan_move,
    supersedes,
)
from core.order import Order, to_canonical


class IngestKind(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True, slots=True)
class Arrival:
    """One order as it arrived: from where (``webhook:taobao``, ``poll:jd``, ``cli``) and the
    hash of the raw payload kept as its snapshot (价格快照), linked from the event it causes."""

    order: Order
    source: str
    snapshot: str | None = None


@dataclass(frozen=True, slots=True)
class StoredOrder:
    """What storage knows about an order before the new version arrives."""

    order: Order
    head: ChainHead
    holds: tuple[str, ...] = ()
    version: int = 0  # optimistic concurrency: bumped by every write of the order
    deferred: DeferredStatus | None = None  # a channel status kept while held (if held)


@dataclass(frozen=True, slots=True)
class IngestResult:
    kind: IngestKind
    order: Order
    events: tuple[OrderEvent, ...]
    clears: tuple[str, ...] = ()  # holds the applied move answered (``CLEARED_BY_MOVE``)
    deferred: DeferredStatus | None = None  # the deferral this arrival recorded

    @property
    def head(self) -> ChainHead | None:
        return self.events[-1].head if self.events else None


# Not part of an order's content: status changes are events of their own, and shipments are
# registered as parcels (stored orders do not carry them, so comparing them would see a change
# on every push of a shipped order).
_NOT_CONTENT = ("status", "shipments")


def content_hash(order: Order) -> str:
    """SHA-256 of the canonical JSON without ``status`` and ``shipments`` (``_NOT_CONTENT``)."""
    doc = to_canonical(order)
    for name in _NOT_CONTENT:
        doc.pop(name, None)
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def ingest(arrival: Arrival, stored: StoredOrder | None, *, at: datetime,
           clearable: frozenset[str] = CLEARED_BY_MOVE) -> IngestResult:
    """Decide what storing an arrived order means. Raises on an impossible status move.

    ``clearable``: holds an applied move closes (the caller resolves them; one that cannot
    passes ``frozenset()`` and such a move is deferred like any other)."""
    incoming = arrival.order
    evidence: dict[str, object] = {"snapshot": arrival.snapshot} if arrival.snapshot else {}
    if stored is None:
        data = {"status": incoming.status.value, "content_hash": content_hash(incoming)}
        event = append_event(ChainHead(), incoming.key, at=at, actor=arrival.source,
                             kind="ingested", data=data | evidence)
        return IngestResult(IngestKind.CREATED, incoming, (event,))
    move = plan_move(stored.order.status, incoming.status, stored.holds, clearable)
    steps = move.steps
    merged = replace(incoming, status=steps[-1] if steps else stored.order.status)
    changed = changed_fields(stored.order, merged)
    events: list[OrderEvent] = []
    if changed:
        update: dict[str, object] = {"changed": changed, "content_hash": content_hash(merged)}
        events.append(append_event(stored.head, merged.key, at=at, actor=arrival.source,
                                   kind="updated", data=update | evidence))
    head = events[-1].head if events else stored.head
    events += channel_steps(head, merged, stored.order.status, steps, at=at,
                            actor=arrival.source)
    deferred = None
    if move.deferred and supersedes(stored.deferred, incoming.status):
        head = events[-1].head if events else stored.head
        events.append(deferral_event(head, incoming, current=stored.order.status,
                                     holds=stored.holds, source=arrival.source,
                                     snapshot=arrival.snapshot, at=at))
        deferred = from_event(events[-1])
    if not events:
        return IngestResult(IngestKind.UNCHANGED, stored.order, ())
    return IngestResult(IngestKind.UPDATED, merged, tuple(events), move.clears, deferred)


def changed_fields(old: Order, new: Order) -> list[str]:
    """Top-level canonical fields that differ, excluding status and shipments."""
    before, after = to_canonical(old), to_canonical(new)
    return [name for name in after if name not in _NOT_CONTENT and before[name] != after[name]]
