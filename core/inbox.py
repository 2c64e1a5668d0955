"""The inbox envelope: one unit of inbound work, as every inbox backend stores and returns it.

It lives in ``core`` (pure, frozen) because both sides need it: ``storage`` implements the
queues and may not import ``handlers``, and ``handlers.ports`` re-exports it for use cases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Envelope:
    """One unit of inbound work on the inbox.

    ``kind`` names the command (``"ingest_order"``, ``"receive_text"``, ``"click_card"``),
    ``dedup_key`` is the platform's own message id (a redelivery carries the same key),
    ``payload`` is JSON-serialisable, ``received_at`` is when we acknowledged it.
    ``attempts`` counts deliveries to a consumer (1 on first take, +1 per reclaim) so a worker
    can dead-letter a poison message; ``id`` is the queue's own message id, needed to ack.
    """

    kind: str
    dedup_key: str
    payload: Mapping[str, Any]
    received_at: datetime
    attempts: int = 0
    id: str = field(default="", compare=False)
