"""Timer handler: an anomaly's SLA ran out untouched -> the next role in its chain.

The anomaly moves up one level (compare-and-set: resolved, touched or already escalated
meanwhile -> nothing happens), the previous holders' cards say "已升级给主管" (their buttons
stay: they may still act), the next role gets a new card, the order gets an
``anomaly_escalated`` event, and the next level's timer is set if the chain goes on.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from core.anomalies import AnomalyStatus
from core.anomaly_cards import escalated, news_of, with_channel_news
from core.timers import Timer, escalation_timer, parse_escalation_ref
from handlers.anomaly_cards import KINDS, order_event, send_to_role, update_everywhere, view
from handlers.chat_deps import ChatDeps
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")


async def escalate_anomaly(uow: ChatUnitOfWork, timer: Timer, deps: ChatDeps, *,
                           now: datetime) -> bool:
    """True when the anomaly was escalated."""
    anomaly_id, level = parse_escalation_ref(timer.ref)
    anomaly = await uow.anomalies.get(anomaly_id)
    if anomaly is None or anomaly.status is not AnomalyStatus.OPEN:
        return False
    rule = deps.anomalies.routing.rule(anomaly.code)
    target = rule.next_role(level)
    if target is None or not await uow.anomalies.escalate(anomaly_id, from_level=level):
        return False
    news: tuple[str, ...] = ()
    for kind in KINDS:
        for record in await uow.cards.for_ref(kind, str(anomaly_id), anomaly.order_key):
            if record.handled_by is None:
                news = news_of(record) or news
                await update_everywhere(uow, escalated(record, target, now), record.version,
                                        now)
    raised = replace(anomaly, level=level + 1)
    due = rule.deadline(now, level + 1)
    card = view(deps, raised, rule, target, due, escalated_from=rule.role_at(level))
    for line in news:  # what the channel / carrier reported meanwhile (handlers.channel_news)
        card = with_channel_news(card, line, bump=False)
    await send_to_role(uow, card, target, deps, now)
    await order_event(uow, anomaly.order_key, "system", "anomaly_escalated",
                      {"anomaly_id": anomaly_id, "code": anomaly.code.value,
                       "from": rule.role_at(level).value, "to": target.value,
                       "level": level + 1}, now)
    if due is not None:
        await uow.timers.set([escalation_timer(anomaly_id, level + 1, due)], at=now)
    log.info("anomaly %s escalated %s -> %s", anomaly_id, rule.role_at(level).value,
             target.value)
    return True
