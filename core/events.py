"""Order events: append-only and hash-chained so tampering is detectable.

An event is ``{order, seq, at, actor, kind, data, prev_hash, hash}``; ``hash`` is SHA-256 over
``prev_hash`` and the event's canonical JSON (the other six fields, sorted keys, no spaces,
UTF-8). The first event of an order chains from ``GENESIS``. Changing any stored field, or
dropping or reordering events, breaks the chain at that event and ``verify_chain`` names it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.clock import require_aware, to_iso

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class ChainHead:
    """Where an order's chain ends: the last sequence number and its hash."""

    seq: int = 0
    hash: str = GENESIS


@dataclass(frozen=True, slots=True)
class OrderEvent:
    order: str
    seq: int
    at: datetime
    actor: str
    kind: str
    data: Mapping[str, Any]
    prev_hash: str
    hash: str

    def body(self) -> dict[str, Any]:
        """The hashed part of the event."""
        return event_body(self.order, self.seq, self.at, self.actor, self.kind, self.data)

    @property
    def head(self) -> ChainHead:
        return ChainHead(self.seq, self.hash)


def canonical_json(value: object) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def event_body(
    order: str, seq: int, at: datetime, actor: str, kind: str, data: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "order": order,
        "seq": seq,
        "at": to_iso(at),
        "actor": actor,
        "kind": kind,
        "data": dict(data),
    }


def chain_hash(prev_hash: str, body: Mapping[str, Any]) -> str:
    digest = hashlib.sha256(prev_hash.encode("ascii"))
    digest.update(canonical_json(body).encode("utf-8"))
    return digest.hexdigest()


def append_event(
    head: ChainHead,
    order: str,
    *,
    at: datetime,
    actor: str,
    kind: str,
    data: Mapping[str, Any],
) -> OrderEvent:
    """The next event after ``head``; ``data`` must be JSON-serialisable."""
    at = require_aware(at, "at")
    seq = head.seq + 1
    digest = chain_hash(head.hash, event_body(order, seq, at, actor, kind, data))
    return OrderEvent(order, seq, at, actor, kind, dict(data), head.hash, digest)


@dataclass(frozen=True, slots=True)
class ChainCheck:
    ok: bool
    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    def describe(self) -> str:
        if self.ok:
            return f"chain intact ({self.checked} events)"
        return f"chain BROKEN at event #{self.broken_seq}: {self.reason}"


def verify_chain(events: Iterable[OrderEvent]) -> ChainCheck:
    """Recompute every link in order; report the first event that does not fit."""
    prev = ChainHead()
    count = 0
    for event in events:
        count += 1
        reason = _link_problem(prev, event)
        if reason:
            return ChainCheck(False, count, event.seq, reason)
        prev = event.head
    return ChainCheck(True, count)


def _link_problem(prev: ChainHead, event: OrderEvent) -> str | None:
    if event.seq != prev.seq + 1:
        return f"sequence jumps from {prev.seq} to {event.seq}"
    if event.prev_hash != prev.hash:
        return "prev_hash does not match the previous event's hash"
    if chain_hash(event.prev_hash, event.body()) != event.hash:
        return "content does not match its hash (event was altered)"
    return None
