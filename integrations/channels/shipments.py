"""Waybills in channel order payloads -> ``core.order.Shipment``, shared by every adapter.

Why one module: each platform names the carrier its own way (淘宝 a company name, 抖店 a code,
拼多多 and 有赞 a numeric company id, 微信小店 a company code), but all must end as our carrier
code (``core.carriers``) or not at all. A waybill whose carrier cannot be named is not guessed
(tracking it with the wrong carrier answers customers wrongly): it is left out of the order and
logged with the order, number and the name the platform gave, so the gap is visible and a
mapping can be added. Leaving it out never costs the order itself. (A log event, not a channel
counter: the counters are fixed columns per channel and day, filled after parsing.)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from core.carriers import UnknownCarrierError, carrier
from core.order import Shipment

log = logging.getLogger("orderbot.channels.shipments")


def shipment(tracking_no: str | None, names: Iterable[str | None], *, where: str,
             carrier_id: str | None = None) -> Shipment | None:
    """The shipment for ``tracking_no`` with the first of ``names`` that names a carrier we know,
    or None: no number (not shipped yet), or no nameable carrier: then one structured event,
    ``waybill carrier unknown``, with the channel (``where`` starts ``channel:order``), the
    platform's company id when it names carriers by id (拼多多/京东/有赞), the name it gave, the
    number and where it was, so ops can count the gaps per channel and extend a table."""
    number = (tracking_no or "").strip()
    if not number:
        return None
    given = [name.strip() for name in names if name and name.strip()]
    for name in given:
        try:
            return Shipment(tracking_no=number, carrier=carrier(name).code)
        except UnknownCarrierError:
            continue
    log.warning("waybill carrier unknown", extra={
        "channel": where.split(":", 1)[0], "carrier_id": carrier_id,
        "carrier_name": given[0] if given else None, "tracking_no": number, "where": where})
    return None


def unique(found: Iterable[Shipment | None]) -> tuple[Shipment, ...]:
    """The shipments found, each (tracking number, carrier) once, in payload order (several lines
    of one parcel repeat its waybill)."""
    seen: dict[tuple[str, str], Shipment] = {}
    for item in found:
        if item is not None:
            seen.setdefault((item.tracking_no, item.carrier), item)
    return tuple(seen.values())
