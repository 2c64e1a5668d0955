"""Timer handler: the periodic stalled-order scan (ORDER_STALLED, class C).

An open order (paid and not yet delivered) that shows no movement for
``routing.stalled_after_s`` (48 h by default) is frozen with an ORDER_STALLED anomaly, routed
like any other (warehouse by default). Movement is the newest of its last status change and
its parcels' newest carrier scan: a parcel in transit for three days is scanned at every hub
while the order stays in_transit, and freezing it would be a false alarm to the warehouse. A
parcel that stops being scanned is first the silence check's (``handlers.check_silence``:
verification task and a note to the customer after 36 h), then stalls here at 48 h; an order
without parcels stalls on its status alone. The scan is one durable timer that sets its successor
when it fires, so it survives restarts and runs once per period however many workers run.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from core.anomalies import AnomalyCode
from core.states import OrderState
from core.timers import Timer, stalled_scan_timer
from handlers.chat_deps import ChatDeps
from handlers.open_anomaly import OpenAnomaly, open_anomaly
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")
S = OrderState
WATCHED = (S.PAID, S.AWAITING_ALLOCATION, S.ALLOCATED, S.LABEL_PRINTED, S.PICKED_UP,
           S.IN_TRANSIT, S.OUT_FOR_DELIVERY)
PER_SCAN = 200


async def scan_stalled(uow: ChatUnitOfWork, timer: Timer, deps: ChatDeps, *,
                       now: datetime) -> int:
    """Open ORDER_STALLED on up to ``PER_SCAN`` stalled orders; set the next scan."""
    settings = deps.anomalies
    hours = settings.routing.stalled_after_s / 3600
    before = now - timedelta(seconds=settings.routing.stalled_after_s)
    keys = await uow.anomalies.stalled_orders(before=before, states=[s.value for s in WATCHED],
                                              limit=PER_SCAN)
    for key in keys:
        reason = f"订单 {hours:g} 小时没有状态变化，也没有新的快递扫描，已冻结，请核实进度。"
        await open_anomaly(uow, OpenAnomaly(key, AnomalyCode.ORDER_STALLED, reason,
                                            {"stalled_since": before.isoformat()}),
                           deps, now=now)
    if settings.stalled_scan_s > 0:
        await uow.timers.set([stalled_scan_timer(now + timedelta(
            seconds=settings.stalled_scan_s if len(keys) < PER_SCAN else 1))], at=now)
    if keys:
        log.info("stalled scan: %d orders frozen", len(keys))
    return len(keys)
