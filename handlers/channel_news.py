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

The carrier's side (``tell_carrier_scan``, called by ``handlers.track_parcel``): a scan of a
held order's parcel, kept for release, puts a 【快递】 line on the same cards (written by the
same ``annotate``): the goods left while the order was held, which a person must know.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from core.anomalies import Anomaly, AnomalyClass, AnomalyCode, Resolution
from core.anomaly_cards import carrier_news, channel_news, with_channel_news
from core.batch import BatchOutcome
from core.cards import CardKind
from core.clock import SHANGHAI
from core.events import OrderEvent
from core.held_status import DEFERRED
from core.states import EXITS, TERMINAL, OrderState, label
from handlers.anomaly_actions import close_for_ended_order, resolve_anomaly
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
    ended: dict[str, list[Anomaly]] = {}
    for anomaly in await uow.health.open_anomalies(list(news), list(AnomalyCode)):
        outcome, event = news[anomaly.order_key]
        if outcome.order.status in TERMINAL:
            ended.setdefault(anomaly.order_key, []).append(anomaly)
        elif anomaly.code.value in outcome.clears:
            told |= await _close_answered(uow, anomaly, outcome.order.status, deps, now)
        elif event is not None:
            told |= await _annotate(uow, anomaly, event, now)
    for key, anomalies in ended.items():
        told |= bool(await close_for_ended_order(uow, key, news[key][0].order.status,
                                                 said="渠道报告", deps=deps, now=now,
                                                 anomalies=anomalies))
    return told


async def _close_answered(uow: ChatUnitOfWork, anomaly: Anomaly, state: OrderState,
                          deps: ChatDeps, now: datetime) -> bool:
    """A hold the channel's move answered (a stall): closed as ``auto``."""
    if anomaly.id is None or not await resolve_anomaly(
            uow, anomaly.id, actor=ACTOR, how=Resolution.AUTO, deps=deps, now=now,
            done=f"自动关闭（渠道报告订单「{label(state)}」）"):
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
    return await annotate(uow, anomaly, line, now)


async def annotate(uow: ChatUnitOfWork, anomaly: Anomaly, line: str, now: datetime) -> bool:
    """``line`` on every open card of ``anomaly`` (the owner's, escalated copies); True when
    a card update was queued."""
    told = False
    for kind in (CardKind.ANOMALY, CardKind.SUSPECTED_DUPLICATE):
        for record in await uow.cards.for_ref(kind, str(anomaly.id), anomaly.order_key):
            if record.handled_by is None:
                await update_everywhere(uow, with_channel_news(record, line), record.version,
                                        now)
                told = True
    return told


async def tell_carrier_scan(uow: ChatUnitOfWork, key: str, target: OrderState, *,
                            carrier_name: str, tracking_no: str, scanned_at: datetime,
                            now: datetime) -> bool:
    """A carrier scanned the parcel of held order ``key`` (its status kept for the release):
    a 【快递】 line on every open card of its open anomalies ("frozen" on a C card). True when
    a card update was queued."""
    told = False
    for anomaly in await uow.health.open_anomalies([key], list(AnomalyCode)):
        line = carrier_news(target, carrier_name=carrier_name, tracking_no=tracking_no,
                            frozen=anomaly.klass is AnomalyClass.C, at=scanned_at)
        told |= await annotate(uow, anomaly, line, now)
    if told:
        log.warning("order %s held, but %s scanned %s (%s): cards told", key, carrier_name,
                    tracking_no, target.value)
    return told
