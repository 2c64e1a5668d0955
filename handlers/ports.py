"""Ports: the Protocols use cases depend on. Concrete classes live in storage/, integrations/
and bot/, and only ``bot/app.py`` picks them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


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
