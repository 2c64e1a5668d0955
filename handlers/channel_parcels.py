"""Use case: the waybills a channel reports become parcels, in the ingest transaction.

Why here and not through ``track_parcel.register_parcel``: that one opens its own transaction
and subscribes over the network; a channel's waybill belongs to the order write (an order
stored without its parcel would answer "到哪了" with nothing), and nothing may leave an open
transaction. A parcel registered here is due for polling at once, so the tracking poller asks
the providers about it on its next round, and the customer desk finds it by number.

Only accepted arrivals count (a rejected order's waybill is not bound to an order we refused);
a re-push of the same waybill adds nothing, a new waybill on a known order adds a parcel
(orders shipped in several parcels get one each).
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.batch import BatchResult
from core.tracking import Parcel
from handlers.ports import UnitOfWork

log = logging.getLogger("orderbot.ingest")


def channel_parcels(result: BatchResult, *, at: datetime) -> list[Parcel]:
    """One parcel per (tracking number, carrier) the accepted arrivals carry, bound to the
    order that reported it (the last arrival wins when two orders name the same waybill)."""
    found: dict[tuple[str, str], Parcel] = {}
    for arrival, _kind in result.kinds:
        order = arrival.order
        for shipment in order.shipments:
            found[shipment.tracking_no, shipment.carrier] = Parcel(
                carrier=shipment.carrier, tracking_no=shipment.tracking_no,
                order_key=order.key, channel=order.channel, source=shipment.source,
                registered_at=at)
    return list(found.values())


async def register_channel_parcels(uow: UnitOfWork, result: BatchResult, *, at: datetime
                                   ) -> int:
    """Store the batch's waybills as parcels, and bind the parcels that were registered for
    the batch's new orders before they arrived; how many were new."""
    created = [outcome.key for outcome in result.outcomes if outcome.created]
    if created and (bound := await uow.parcels.bind_waiting(created)):
        log.info("bound %d parcel(s) registered before their order arrived", bound)
    parcels = channel_parcels(result, at=at)
    if not parcels:
        return 0
    new = await uow.parcels.register_bound(parcels, at=at)
    if new:
        log.info("registered %d new parcel(s) from channel waybills", new)
    return new
