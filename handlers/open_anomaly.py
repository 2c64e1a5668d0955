"""Use case: open an anomaly on an order (health checks, ingestion, the stalled scan call it).

In the caller's unit of work, so everything commits together: the anomaly (blocking per
routing: an open blocking anomaly holds the order, ``core.states`` refuses to advance it), an
``anomaly_opened`` order event, the card for the owning role (A: "已补录"; B: the suggestion as
a button; C: frozen, with the evidence), its outbox rows, and the SLA timer that escalates it
when nobody touches it in time. Opening a code that is already open on the order is a no-op
(a re-delivered or re-checked order does not open it twice).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.anomalies import Anomaly, AnomalyCode, AnomalyStatus
from core.anomalies import open_anomaly as new_anomaly
from core.errors import ConcurrencyError
from core.substitution import in_stock_substitutes, quantity_of
from core.timers import escalation_timer
from handlers.anomaly_cards import order_event, send_to_role, view
from handlers.chat_deps import ChatDeps
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class OpenAnomaly:
    """Command: ``code`` is wrong with order ``order_key``. ``data``: what the card shows and
    the actions need (``evidence``: links/attachments; ``sku`` + ``stock`` for a substitute;
    ``other`` for a duplicate)."""

    order_key: str
    code: AnomalyCode
    reason: str
    data: Mapping[str, Any] = field(default_factory=dict)
    actor: str = "system"


async def open_anomaly(uow: ChatUnitOfWork, cmd: OpenAnomaly, deps: ChatDeps, *,
                       now: datetime) -> Anomaly | None:
    """Open it (None when the order is unknown or the code is already open on it)."""
    existing = await uow.anomalies.for_order(cmd.order_key)
    if any(a.code is cmd.code and a.status is AnomalyStatus.OPEN for a in existing):
        return None
    stored = (await uow.orders.load_many([cmd.order_key])).get(cmd.order_key)
    if stored is None:
        log.warning("anomaly %s on unknown order %s ignored", cmd.code, cmd.order_key)
        return None
    rule = deps.anomalies.routing.rule(cmd.code)
    data = _with_substitutes(cmd, stored.order, deps)
    anomaly = replace(new_anomaly(cmd.order_key, cmd.code, at=now, reason=cmd.reason,
                                  data=data, blocking=rule.blocking),
                      owner_role=rule.owner.value)
    anomaly = replace(anomaly, id=await uow.anomalies.add(anomaly))
    assert anomaly.id is not None
    await order_event(uow, cmd.order_key, cmd.actor, "anomaly_opened",
                      {"anomaly_id": anomaly.id, "code": cmd.code.value,
                       "class": anomaly.klass.value, "blocking": anomaly.blocking,
                       "owner": rule.owner.value}, now)
    due = rule.deadline(now, 0)
    await send_to_role(uow, view(deps, anomaly, rule, rule.owner, due), rule.owner, deps, now)
    if due is not None:
        await uow.timers.set([escalation_timer(anomaly.id, 0, due)], at=now)
    log.info("anomaly %s %s opened on %s -> %s", anomaly.id, cmd.code.value, cmd.order_key,
             rule.owner.value)
    return anomaly


def _with_substitutes(cmd: OpenAnomaly, order: Any, deps: ChatDeps) -> dict[str, Any]:
    """For OUT_OF_STOCK_SUBSTITUTE: the in-stock substitutes from the table, unless given."""
    data = dict(cmd.data)
    if cmd.code is AnomalyCode.OUT_OF_STOCK_SUBSTITUTE and "substitutes" not in data:
        sku = str(data.get("sku", ""))
        stock = data.get("stock", {})
        levels = {str(k): int(v) for k, v in stock.items()} if isinstance(stock, dict) else {}
        data["substitutes"] = in_stock_substitutes(sku, deps.anomalies.substitutes, levels,
                                                   max(quantity_of(order, sku), 1))
    return data


async def open_anomalies(cmds: Sequence[OpenAnomaly], deps: ChatDeps, *,
                         now: datetime) -> list[Anomaly]:
    """Open several in one transaction of their own (retried on a write race)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with deps.new_uow() as uow:
                opened = [a for cmd in cmds
                          if (a := await open_anomaly(uow, cmd, deps, now=now)) is not None]
                await uow.commit()
            break
        except ConcurrencyError:
            if attempt == ATTEMPTS:
                raise
    deps.queued()
    return opened
