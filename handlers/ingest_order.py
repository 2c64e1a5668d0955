"""Use case: store a batch of canonical orders (create, update or nothing), exactly once each.

Short by design: open a unit of work, load, one domain call (``core.batch.ingest_batch``),
save, commit. Orders the domain rejects (an impossible status move) go to dead letters in the
same transaction, with the reason, so nothing is lost. A write race with another worker is
retried with fresh state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.batch import BatchResult, ingest_batch
from core.errors import ConcurrencyError
from core.ingest import Arrival
from core.order import to_canonical
from handlers.ports import UnitOfWork

log = logging.getLogger("orderbot.ingest")
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class IngestOrders:
    """Command: store these arrivals (each names its source and snapshot)."""

    arrivals: Sequence[Arrival]
    received_at: datetime


async def ingest_orders(cmd: IngestOrders, new_uow: Callable[[], UnitOfWork]) -> BatchResult:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await _ingest_once(cmd, new_uow())
        except ConcurrencyError as error:
            if attempt == ATTEMPTS:
                raise
            log.info("ingest retry %d after write race: %s", attempt, error)
    raise AssertionError("unreachable")


async def _ingest_once(cmd: IngestOrders, uow: UnitOfWork) -> BatchResult:
    async with uow:
        orders = [arrival.order for arrival in cmd.arrivals]
        stored = await uow.orders.load_many(order.key for order in orders)
        candidates = await uow.orders.duplicate_candidates(orders)
        result = ingest_batch(cmd.arrivals, stored, at=cmd.received_at, candidates=candidates)
        await uow.orders.save_batch(result.outcomes, at=cmd.received_at)
        for rejected in result.rejected:
            raw = json.dumps(to_canonical(rejected.arrival.order), ensure_ascii=False).encode()
            await uow.dead_letters.add(source=rejected.arrival.source, reason=rejected.reason,
                                       raw=raw, received_at=cmd.received_at,
                                       content_type="application/json")
        await uow.commit()
    return result
