"""Use cases: store arrived orders exactly once each, from canonical orders or raw payloads.

Short by design: open a unit of work, load, one domain call (``core.batch.ingest_batch``),
save, commit. In the same transaction: raw payloads are kept as snapshots, payloads that do not
parse and orders the domain rejects go to dead letters with the reason (nothing is lost; the
same bytes redelivered are kept once and counted as a duplicate), and the per-channel counters
move. With chat installed, the cards the batch causes (suspected duplicates, dead letters,
optionally new orders) and their outbox rows are written in that transaction too, and so is
the health check of every new or changed order (``handlers.check_health``: anomalies with
their cards, timers and holds; rule-hit counts; anomalies a fix at the source cleared), and
what a channel status did to an order with open anomalies (``handlers.channel_news``: a held
order's forward status is kept on it for its release, not dead-lettered). A write race
with another worker is retried with fresh state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.anomalies import Anomaly
from core.batch import BatchResult, ingest_batch
from core.counters import tally
from core.errors import ConcurrencyError, ConnectionLostError, TemporaryFailureError
from core.held_status import CLEARED_BY_MOVE
from core.ingest import Arrival
from core.order import to_canonical
from core.payloads import CANONICAL_JSON, RawPayload
from handlers.announce import NewDeadLetter, announce_ingest
from handlers.channel_news import tell_channel_news
from handlers.channel_parcels import register_channel_parcels
from handlers.chat_deps import ChatDeps
from handlers.check_health import check_ingested
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
    cmd: IngestPayloads, parser: ChannelParser, new_uow: Callable[[], UnitOfWork],
    chat: ChatDeps | None = None,
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
    return await ingest_orders(IngestOrders(arrivals, cmd.received_at, kept, failures), new_uow,
                               chat)


async def ingest_orders(cmd: IngestOrders, new_uow: Callable[[], UnitOfWork],
                        chat: ChatDeps | None = None) -> BatchResult:
    """Store the batch; with ``chat``, announce what it caused in the same transaction.

    Retried with fresh state after a write race, and once after a lost database connection
    (a pooled connection that died with a PostgreSQL restart: the batch is idempotent, so
    running it again is safe even when the loss hit its COMMIT)."""
    reconnected = False
    for attempt in range(1, ATTEMPTS + 1):
        try:
            if chat is None:
                return await _store(cmd, new_uow())
            return await _store_and_announce(cmd, chat)
        except ConcurrencyError as error:
            if attempt == ATTEMPTS:
                raise
            log.info("ingest retry %d after write race: %s", attempt, error)
        except ConnectionLostError as error:
            if reconnected or attempt == ATTEMPTS:
                raise
            reconnected = True
            log.warning("ingest retry on a fresh connection: %s", error)
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class _Written:
    result: BatchResult
    opened: list[Anomaly]  # as stored, with ids
    letters: list[NewDeadLetter]  # first-time dead letters only


async def _store(cmd: IngestOrders, uow: UnitOfWork) -> BatchResult:
    async with uow:
        written = await _write(cmd, uow, clearable=frozenset())  # no anomalies to resolve here
        await uow.commit()
    return written.result


async def _store_and_announce(cmd: IngestOrders, chat: ChatDeps) -> BatchResult:
    async with chat.new_uow() as uow:
        written = await _write(cmd, uow)
        created = [o.order for o in written.result.outcomes if o.created] \
            if chat.cards.new_order is not None else []
        told = await announce_ingest(uow, opened=written.opened, letters=written.letters,
                                     created=created, deps=chat, now=cmd.received_at)
        checked = await check_ingested(uow, written.result.outcomes, chat,
                                       now=cmd.received_at)
        news = await tell_channel_news(uow, written.result.outcomes, chat, now=cmd.received_at)
        await uow.commit()
    if told or checked or news:
        chat.queued()
    return written.result


async def _write(cmd: IngestOrders, uow: UnitOfWork,
                 clearable: frozenset[str] = CLEARED_BY_MOVE) -> _Written:
    at = cmd.received_at
    orders = [arrival.order for arrival in cmd.arrivals]
    stored = await uow.orders.load_many(order.key for order in orders)
    # Before any write: the candidate check may wait for a batch storing a twin (see port).
    candidates = await uow.orders.duplicate_candidates(
        order for order in orders if order.key not in stored)  # only new ones can be twins
    await uow.snapshots.keep(cmd.payloads, at=at)
    result = ingest_batch(cmd.arrivals, stored, at=at, candidates=candidates,
                          clearable=clearable)
    opened = await uow.orders.save_batch(result.outcomes, at=at)
    await register_channel_parcels(uow, result, at=at)  # the waybills the orders carry
    letters, repeats = await _dead_letter(uow, cmd, result)
    await uow.counters.add(tally(result, [p.channel for p, _ in cmd.failures], at=at,
                                 repeats=repeats))
    return _Written(result, opened, letters)


async def _dead_letter(uow: UnitOfWork, cmd: IngestOrders, result: BatchResult
                       ) -> tuple[list[NewDeadLetter], list[str]]:
    """Keep what failed; returns the letters stored for the first time, and the channel of
    each one that was already kept (a redelivery: counted as a duplicate, not announced)."""
    at = cmd.received_at
    letters: list[NewDeadLetter] = []
    repeats: list[str] = []

    async def keep(channel: str, source: str, reason: str, raw: bytes, content_type: str | None,
                   meta: Mapping[str, object] | None) -> None:
        letter_id = await uow.dead_letters.add(source=source, reason=reason, raw=raw,
                                               received_at=at, content_type=content_type,
                                               meta=meta)
        if letter_id is None:
            repeats.append(channel)
        else:
            letters.append(NewDeadLetter(letter_id, source, reason, at))

    for payload, reason in cmd.failures:
        await keep(payload.channel, payload.origin, reason, payload.body, payload.content_type,
                   payload.meta())
    for rejected in result.rejected:
        order = rejected.arrival.order
        raw = json.dumps(to_canonical(order), ensure_ascii=False).encode()
        await keep(order.channel, rejected.arrival.source, rejected.reason, raw,
                   CANONICAL_JSON, None)
    return letters, repeats
