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

from core.errors import DomainError
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
    version: int = 0  # optimistic concurrency: bumped by every write of the order


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
        data: dict[str, object] = {"changed": changed, "content_hash": content_hash(merged)}
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


@dataclass(frozen=True, slots=True)
class Rejected:
    """An incoming order that could not be applied (impossible status move, held order)."""

    order: Order
    reason: str


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """Per order key, what a batch did: the final order and every event to append."""

    key: str
    created: bool
    order: Order
    events: tuple[OrderEvent, ...]


@dataclass(frozen=True, slots=True)
class BatchResult:
    outcomes: tuple[BatchOutcome, ...]
    kinds: tuple[IngestKind, ...]  # one per accepted incoming order, in arrival order
    rejected: tuple[Rejected, ...]


def ingest_batch(
    incoming: list[Order], stored: dict[str, StoredOrder], *, at: datetime, source: str
) -> BatchResult:
    """``ingest`` each order in arrival order; a key seen twice in one batch folds into one
    outcome (created-then-updated keeps ``created``). Domain errors reject only that order."""
    current = dict(stored)
    outcomes: dict[str, BatchOutcome] = {}
    kinds: list[IngestKind] = []
    rejected: list[Rejected] = []
    for order in incoming:
        try:
            result = ingest(order, current.get(order.key), at=at, source=source)
        except DomainError as error:
            rejected.append(Rejected(order, str(error)))
            continue
        kinds.append(result.kind)
        if result.kind is IngestKind.UNCHANGED:
            continue
        before = outcomes.get(order.key)
        created = before.created if before else result.kind is IngestKind.CREATED
        events = (before.events if before else ()) + result.events
        outcomes[order.key] = BatchOutcome(order.key, created, result.order, events)
        holds = current[order.key].holds if order.key in current else ()
        version = current[order.key].version if order.key in current else 0
        current[order.key] = StoredOrder(result.order, events[-1].head, holds, version)
    return BatchResult(tuple(outcomes.values()), tuple(kinds), tuple(rejected))
