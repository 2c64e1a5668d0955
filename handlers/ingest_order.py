"""Use cases: store arrived orders exactly once each, from canonical orders or raw payloads.

Short by design: open a unit of work, load, one domain call (``core.batch.ingest_batch``),
save, commit. In the same transaction: raw payloads are kept as snapshots, payloads that do not
parse and orders the domain rejects go to dead letters with the reason (nothing is lost), and
the per-channel counters move. A write race with another worker is retried with fresh state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.batch import BatchResult, ingest_batch
from core.counters import tally
from core.errors import ConcurrencyError, TemporaryFailureError
from core.ingest import Arrival
from core.order import to_canonical
from core.payloads import CANONICAL_JSON, RawPayload
from handlers.ports import ChannelParser, UnitOfWork

log = logging.getLogger("orderbot.ingest")
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class IngestOrders:
    """Command: store these arrivals (each names its source and snapshot)."""

    arrivals: Sequence[Arrival]
    received_at: datetime
    payloads: Sequence[RawPayload] = ()  # kept as snapshots
    failures: Sequence[tuple[RawPayload, str]] = field(default=())  # unparseable, with reason


@dataclass(frozen=True, slots=True)
class IngestPayloads:
    """Command: parse and store raw channel payloads (webhook pushes, poll pages, files)."""

    payloads: Sequence[RawPayload]
    received_at: datetime


async def ingest_payloads(
    cmd: IngestPayloads, parser: ChannelParser, new_uow: Callable[[], UnitOfWork]
) -> BatchResult:
    arrivals: list[Arrival] = []
    kept: list[RawPayload] = []
    failures: list[tuple[RawPayload, str]] = []
    for payload in cmd.payloads:
        try:
            orders = await parser.parse(payload)
        except TemporaryFailureError:
            raise  # e.g. a detail API throttled: the batch is retried from the inbox later
        except Exception as error:  # any other parse failure is the payload's: dead-letter it
            failures.append((payload, f"{type(error).__name__}: {error}"))
            continue
        kept.append(payload)
        arrivals += [Arrival(order, payload.origin, payload.digest) for order in orders]
    return await ingest_orders(IngestOrders(arrivals, cmd.received_at, kept, failures), new_uow)


async def ingest_orders(cmd: IngestOrders, new_uow: Callable[[], UnitOfWork]) -> BatchResult:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await _store(cmd, new_uow())
        except ConcurrencyError as error:
            if attempt == ATTEMPTS:
                raise
            log.info("ingest retry %d after write race: %s", attempt, error)
    raise AssertionError("unreachable")


async def _store(cmd: IngestOrders, uow: UnitOfWork) -> BatchResult:
    at = cmd.received_at
    async with uow:
        await uow.snapshots.keep(cmd.payloads, at=at)
        orders = [arrival.order for arrival in cmd.arrivals]
        stored = await uow.orders.load_many(order.key for order in orders)
        candidates = await uow.orders.duplicate_candidates(
            order for order in orders if order.key not in stored)  # only new ones can be twins
        result = ingest_batch(cmd.arrivals, stored, at=at, candidates=candidates)
        await uow.orders.save_batch(result.outcomes, at=at)
        await _dead_letter(uow, cmd, result)
        await uow.counters.add(tally(result, [p.channel for p, _ in cmd.failures], at=at))
        await uow.commit()
    return result


async def _dead_letter(uow: UnitOfWork, cmd: IngestOrders, result: BatchResult) -> None:
    for payload, reason in cmd.failures:
        await uow.dead_letters.add(source=payload.origin, reason=reason, raw=payload.body,
                                   received_at=cmd.received_at,
                                   content_type=payload.content_type, meta=payload.meta())
    for rejected in result.rejected:
        raw = json.dumps(to_canonical(rejected.arrival.order), ensure_ascii=False).encode()
        await uow.dead_letters.add(source=rejected.arrival.source, reason=rejected.reason,
                                   raw=raw, received_at=cmd.received_at,
                                   content_type=CANONICAL_JSON)
