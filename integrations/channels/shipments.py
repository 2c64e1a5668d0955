"""Waybills in channel order payloads -> ``core.order.Shipment``, shared by every adapter.

Why one module: each platform names the carrier its own way (淘宝 a company name, 抖店 a code,
拼多多 and 有赞 a numeric company id, 微信小店 a company code), but all must end as our carrier
code (``core.carriers``) or not at all. A waybill whose carrier cannot be named is not guessed
(tracking it with the wrong carrier answers customers wrongly): it is left out of the order and
logged with the order, number and the name the platform gave, so the gap is visible and a
mapping can be added. Leaving it out never costs the order itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from core.carriers import UnknownCarrierError, carrier
from core.order import Shipment

log = logging.getLogger("orderbot.channels.shipments")


def shipment(tracking_no: str | None, names: Iterable[str | None], *, where: str
             ) -> Shipment | None:
    """The shipment for ``tracking_no`` with the first of ``names`` that names a carrier we know,
    or None: no number (not shipped yet), or no nameable carrier (logged)."""
    number = (tracking_no or "").strip()
    if not number:
        return None
    given = [name.strip() for name in names if name and name.strip()]
    for name in given:
        try:
            return Shipment(tracking_no=number, carrier=carrier(name).code)
        except UnknownCarrierError:
            continue
    log.warning("%s: waybill %s not registered: no known carrier in %s", where, number,
                given or "the payload")
    return None


def unique(found: Iterable[Shipment | None]) -> tuple[Shipment, ...]:
    """The shipments found, each (tracking number, carrier) once, in payload order (several lines
    of one parcel repeat its waybill)."""
    seen: dict[tuple[str, str], Shipment] = {}
    for item in found:
        if item is not None:
            seen.setdefault((item.tracking_no, item.carrier), item)
    return tuple(seen.values())
