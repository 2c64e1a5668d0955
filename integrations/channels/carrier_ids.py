"""Platform company ids -> company names, with one structured event per waybill they fail.

拼多多, 京东 and 有赞 name a waybill's carrier only by a platform company id, looked up in each
channel's table (``<channel>/carriers.py``). When the id is missing, not in the table, or names a
company ``core.carriers`` cannot track, the waybill is left out (``shipments.shipment`` logs the
order and number). This adds one event, ``waybill carrier unknown``, whose fields ``channel``,
``carrier_id`` and ``carrier_name`` (None when the id is not in the table) come out as JSON
fields in production, so ops can count them per channel and day and extend a table.

Why a log event and not a counter: the channel counters (``storage/counters.py``) are one row per
channel and day with fixed columns, filled from the batch result after parsing; counting these
would need a new column (migration) and the pure parse handing its dropped waybills out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from core.carriers import UnknownCarrierError, carrier

log = logging.getLogger("orderbot.channels.carriers")


def company_name(table: Mapping[str, str], company_id: str | None, tracking_no: str | None,
                 *, channel: str) -> str | None:
    """The name ``table`` gives ``company_id`` (None when not listed). A waybill to track whose
    id does not lead to a carrier we track is logged as an event with channel and id."""
    name = table.get(company_id or "")
    if (tracking_no or "").strip() and not _trackable(name):
        log.warning("waybill carrier unknown", extra={
            "channel": channel, "carrier_id": company_id, "carrier_name": name})
    return name


def _trackable(name: str | None) -> bool:
    try:
        return name is not None and bool(carrier(name))
    except UnknownCarrierError:
        return False
