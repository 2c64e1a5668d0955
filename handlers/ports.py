"""Ports: the Protocols use cases depend on. Concrete classes live in storage/, integrations/
and bot/, and only ``bot/app.py`` picks them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from core.events import OrderEvent
from core.ingest import BatchOutcome, StoredOrder
from core.order import Order


@dataclass(frozen=True, slots=True)
class Envelope:
    """One unit of inbound work on the inbox.

    ``kind`` names the command (``"ingest_order"``, ``"receive_text"``, ``"click_card"``),
    ``dedup_key`` is the platform's own message id (a redelivery carries the same key),
    ``payload`` is JSON-serialisable, ``received_at`` is when we acknowledged it.
    """

    kind: str
    dedup_key: str
    payload: Mapping[str, Any]
    received_at: datetime
    attempts: int = 0
    id: str = field(default="", compare=False)


class Inbox(Protocol):
    """Durable inbound queue: Redis Streams in production, in-process in embedded mode."""

    async def put(self, envelope: Envelope) -> bool:
        """Queue ``envelope`` unless its ``dedup_key`` was seen; True when it was queued.

        Returns only once the envelope is durable (safe to acknowledge the platform)."""
        ...


class OrderRepository(Protocol):
    async def load_many(self, keys: Iterable[str], *, lock: bool = True) -> dict[str, StoredOrder]:
        ...

    async def get(self, key: str) -> StoredOrder | None: ...

    async def save_batch(self, outcomes: Sequence[BatchOutcome], *, at: datetime) -> None: ...

    async def save_change(
        self, stored: StoredOrder, order: Order, events: Sequence[OrderEvent], *, at: datetime
    ) -> None: ...

    async def events(self, key: str) -> list[OrderEvent]: ...

    async def find(self, ref: str) -> list[str]: ...


class DeadLetters(Protocol):
    async def add(
        self, *, source: str, reason: str, raw: bytes, received_at: datetime,
        content_type: str | None = None,
    ) -> int: ...  # fmt: skip


class UnitOfWork(Protocol):
    """One transaction. ``async with uow:``; leaving without ``commit()`` rolls back."""

    orders: OrderRepository
    dead_letters: DeadLetters

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(self, *exc: object) -> None: ...

    async def commit(self) -> None: ...
