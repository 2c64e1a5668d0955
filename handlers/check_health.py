"""Use case step: health-check what an ingest batch created or changed, in its transaction.

Called by ``ingest_order`` inside the batch's unit of work, after the orders are saved, so the
anomalies, cards, outbox rows, SLA timers and holds it causes commit with the orders (or not at
all). Only orders that are new or whose content changed are checked (a redelivered push, or a
status-only move, is not); orders past the carrier's pick-up or closed are not checked either
(there is nothing left to stop). Per batch:

* the stock snapshot is read once for all checked lines and their substitutes (one query;
  none when no checked order still needs stock);
* every enforced finding opens its anomaly through ``open_anomaly`` (card to the owning role,
  escalation timer, hold); a code already open on the order is not opened twice;
* shadow findings only count (``health_rule_hits``, per day, rule, code and mode; enforced
  ones too, for comparison): one upsert per distinct rule, none for a healthy batch;
* on a changed order, an open A or B anomaly whose finding no longer holds (a later push
  fixed the address) is closed as ``auto``, with its cards and timers. C freezes are not:
  releasing a frozen order is a gated action a supervisor confirms.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from core.anomalies import CODE_CLASS, AnomalyClass, AnomalyCode, Resolution
from core.batch import BatchOutcome
from core.health import CODE_DIMENSION, Finding, HealthReport, StockTable, check_order
from core.health.hits import tally_hits
from core.health.stock import NEEDS_STOCK
from core.order import Order
from core.states import OrderState
from handlers.anomaly_actions import resolve_anomaly
from handlers.chat_deps import ChatDeps
from handlers.open_anomaly import OpenAnomaly, open_anomaly
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.health")

S = OrderState
# Before the carrier has the parcel: a finding can still stop something.
CHECKED_STATES = frozenset({S.PENDING_PAYMENT, S.DEPOSIT_PAID, S.PAID, S.AWAITING_ALLOCATION,
                            S.ALLOCATED, S.LABEL_PRINTED})
# What may close by itself when the data is fixed at the source (not C: a freeze is released
# only by a confirmed gated action).
SELF_CLOSING = frozenset(code for code in CODE_DIMENSION
                         if CODE_CLASS[code] is not AnomalyClass.C)
ACTOR = "system"


def needs_check(outcome: BatchOutcome) -> bool:
    """New, or its content changed (an ``updated`` event): not a status-only move."""
    return (outcome.created or any(e.kind == "updated" for e in outcome.events)) \
        and outcome.order.status in CHECKED_STATES


async def check_ingested(uow: ChatUnitOfWork, outcomes: Sequence[BatchOutcome], deps: ChatDeps,
                         *, now: datetime) -> bool:
    """Check, count, open and close as described above; True when a card or card update was
    queued (the caller wakes the outbox sender after its commit)."""
    rules = deps.anomalies.health
    if rules is None:
        return False
    checked = [o for o in outcomes if needs_check(o)]
    if not checked:
        return False
    levels = await _stock(uow, [o.order for o in checked], deps) if deps.anomalies.stock \
        else None
    snapshot = StockTable(levels) if levels is not None else None
    reports = [check_order(o.order, rules, snapshot) for o in checked]
    hits = tally_hits(reports, at=now)
    if hits:
        await uow.health.add_hits(hits)
    told = await _close_cleared(uow, [o for o in checked if not o.created], reports, deps, now)
    for outcome, report in zip(checked, reports, strict=True):
        for cmd in commands(outcome.order, report, levels or {}, deps.anomalies.substitutes):
            if await open_anomaly(uow, cmd, deps, now=now) is not None:
                told = True
    return told


async def _stock(uow: ChatUnitOfWork, orders: Sequence[Order], deps: ChatDeps
                 ) -> dict[str, int] | None:
    """Levels of the lines still to be reserved and of their substitutes; None when no order
    needs stock (no query)."""
    skus = {line.sku for order in orders if order.status in NEEDS_STOCK for line in order.lines}
    if not skus:
        return None
    alternatives = {alt for sku in skus for alt in deps.anomalies.substitutes.get(sku, ())}
    return dict(await uow.health.stock_levels(skus | alternatives))


async def _close_cleared(uow: ChatUnitOfWork, changed: Sequence[BatchOutcome],
                         reports: Sequence[HealthReport], deps: ChatDeps, now: datetime
                         ) -> bool:
    if not changed:
        return False
    by_key = {report.order_key: report for report in reports}
    closed = False
    for anomaly in await uow.health.open_anomalies([o.key for o in changed], SELF_CLOSING):
        report = by_key.get(anomaly.order_key)
        if report is None or not report.cleared(anomaly.code) or anomaly.id is None:
            continue
        if await resolve_anomaly(uow, anomaly.id, actor=ACTOR, how=Resolution.AUTO, deps=deps,
                                 now=now, done="自动关闭（渠道数据已更正）"):
            log.info("anomaly %s %s on %s closed: no longer found", anomaly.id,
                     anomaly.code.value, anomaly.order_key)
            closed = True
    return closed


def commands(order: Order, report: HealthReport, levels: Mapping[str, int],
             substitutes: Mapping[str, Sequence[str]]) -> list[OpenAnomaly]:
    """One ``OpenAnomaly`` per enforced code (a code found by two rules is one anomaly whose
    reason has both sentences)."""
    by_code: dict[AnomalyCode, list[Finding]] = {}
    for finding in report.enforced:
        by_code.setdefault(finding.code, []).append(finding)
    return [OpenAnomaly(order.key, code, " ".join(f.message for f in found),
                        _data(code, found, levels, substitutes), actor=ACTOR)
            for code, found in by_code.items()]


def _data(code: AnomalyCode, found: Sequence[Finding], levels: Mapping[str, int],
          substitutes: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """What the card and the actions need: the rules and their evidence; for stock, the SKU
    to replace and the stock of its substitutes (``open_anomaly`` picks the in-stock ones)."""
    data: dict[str, Any] = {"rules": [f.rule for f in found],
                            "dimension": found[0].dimension.value,
                            "found": [dict(f.data) for f in found]}
    if code is AnomalyCode.OUT_OF_STOCK_SUBSTITUTE:
        short = found[0].data.get("short") or [{}]
        sku = str(short[0].get("sku", ""))
        data["sku"] = sku
        data["stock"] = {alt: levels[alt] for alt in substitutes.get(sku, ()) if alt in levels}
    if code is AnomalyCode.CUSTOM_SPEC_CONFLICT:
        data["evidence"] = [f"{f.data.get('sku')}: 规格 {_spec(f.data.get('spec'))}，"
                            f"冲突条件 {f.data.get('condition')}" for f in found]
    return data


def _spec(spec: object) -> str:
    if not isinstance(spec, Mapping) or not spec:
        return "（未注明）"
    return "、".join(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}"
                    for name, value in spec.items())
