"""Use case step: what a channel status did to an order with open anomalies, where people look.

Called by ``ingest_order`` inside the batch's unit of work (chat installed), after the orders
are saved, so closures and card updates commit with the status (or not at all):

* an applied move that answered a hold (ORDER_STALLED: the channel says the order moved) closes
  it as ``auto``, with its cards and timers (``core.held_status``);
* a channel report that ends the order (cancelled, refunded) closes every open anomaly of it as
  ``auto``: nothing is left to fix, release or ship, and an open freeze would only escalate to
  people who can do nothing. Each card's closing status names the channel's state, so the
  owner (production on a C card) and any supervisor holding a copy learn it was cancelled;
* a status kept for release (deferred) or an after-sale / return reported while the order has
  open anomalies is written on every open card of them as a 【渠道】 line: the anomaly stays
  (a person decides), but whoever holds its card sees what the channel said.

One anomaly query per batch, and only for batches with such an order.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from core.anomalies import Anomaly, AnomalyCode, Resolution
from core.anomaly_cards import channel_news, with_channel_news
from core.batch import BatchOutcome
from core.cards import CardKind
from core.clock import SHANGHAI
from core.events import OrderEvent
from core.held_status import DEFERRED
from core.states import EXITS, TERMINAL, OrderState, label
from handlers.anomaly_actions import resolve_anomaly
from handlers.anomaly_cards import update_everywhere
from handlers.chat_deps import ChatDeps
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")
ACTOR = "system"


def _news(outcome: BatchOutcome) -> OrderEvent | None:
    """The batch's last deferral or channel move off the fulfilment path, if any."""
    for event in reversed(outcome.events):
        if event.kind == DEFERRED or (event.kind == "state_changed"
                                      and event.data.get("via") == "channel"
                                      and event.data.get("to") in EXITS):
            return event
    return None


async def tell_channel_news(uow: ChatUnitOfWork, outcomes: Sequence[BatchOutcome],
                            deps: ChatDeps, *, now: datetime) -> bool:
    """Close and annotate as described above; True when a card update was queued."""
    found = [(o, _news(o)) for o in outcomes if not o.created]
    news = {o.key: (o, event) for o, event in found if event is not None or o.clears}
    if not news:
        return False
    told = False
    for anomaly in await uow.health.open_anomalies(list(news), list(AnomalyCode)):
        outcome, event = news[anomaly.order_key]
        if anomaly.code.value in outcome.clears or outcome.order.status in TERMINAL:
            told |= await _close(uow, anomaly, outcome.order.status, deps, now)
        elif event is not None:
            told |= await _annotate(uow, anomaly, event, now)
    return told


async def _close(uow: ChatUnitOfWork, anomaly: Anomaly, state: OrderState, deps: ChatDeps,
                 now: datetime) -> bool:
    done = f"自动关闭（渠道报告订单「{label(state)}」）"
    if anomaly.id is None or not await resolve_anomaly(uow, anomaly.id, actor=ACTOR,
                                                       how=Resolution.AUTO, deps=deps,
                                                       now=now, done=done):
        return False
    log.info("anomaly %s %s on %s closed: channel says %s", anomaly.id, anomaly.code.value,
             anomaly.order_key, state.value)
    return True


async def _annotate(uow: ChatUnitOfWork, anomaly: Anomaly, event: OrderEvent,
                    now: datetime) -> bool:
    deferred = event.kind == DEFERRED
    target = OrderState(str(event.data["target" if deferred else "to"]))
    line = channel_news(target, event.data.get("channel_status"), deferred=deferred,
                        at=event.at.astimezone(SHANGHAI))
    told = False
    for kind in (CardKind.ANOMALY, CardKind.SUSPECTED_DUPLICATE):
        for record in await uow.cards.for_ref(kind, str(anomaly.id), anomaly.order_key):
            if record.handled_by is None:
                await update_everywhere(uow, with_channel_news(record, line), record.version,
                                        now)
                told = True
    return told
