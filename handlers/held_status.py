"""Use case step: an order's hold ended, so the status it was sent meanwhile (by its channel,
or by its carrier's scans) applies.

Called inside the unit of work that resolved an anomaly (a gated release, a card tap, an
automatic close), after the resolution is written, so the deferred status moves the order in
the same transaction as the release, with its own events. What to apply, drop or keep is
``core.held_status.settle_deferred``; this only loads and saves.
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.anomalies import Anomaly, AnomalyStatus
from core.held_status import CHANNEL, CLEARED_BY_MOVE, pending_deferral, settle_deferred
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")


async def apply_deferred_status(uow: ChatUnitOfWork, key: str, *, by: str,
                                now: datetime) -> tuple[list[Anomaly], str]:
    """Settle the order's pending deferral; returns the open anomalies the applied move
    answered (ORDER_STALLED), for the caller to close like any resolution, and who reported
    the move (``core.held_status.CHANNEL`` or ``CARRIER``)."""
    stored = (await uow.orders.load_many([key])).get(key)
    if stored is None or any(code not in CLEARED_BY_MOVE for code in stored.holds):
        return [], CHANNEL  # still held by something a move does not answer: nothing to read
    deferred = stored.deferred or pending_deferral(await uow.orders.events(key))
    settled = settle_deferred(stored.order, stored.head, stored.holds, deferred, at=now, by=by)
    if not settled.events or deferred is None:
        return [], CHANNEL
    await uow.orders.save_change(stored, settled.order, settled.events, at=now)
    log.info("order %s released: deferred %s status %s -> %s", key, deferred.via,
             deferred.target, settled.events[0].kind)
    if not settled.clears:
        return [], deferred.via
    return [a for a in await uow.anomalies.for_order(key)
            if a.status is AnomalyStatus.OPEN and a.code.value in settled.clears], deferred.via
