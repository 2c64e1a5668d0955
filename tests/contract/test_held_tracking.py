"""A carrier scan of a held order, on SQLite and PostgreSQL, through the real use cases
(``apply_report`` as a push or a poll calls it, the gated release, storage).

Transcripts:

* 清关被拒 freezes a paid order (C card to 王五, warehouse). 中通 reports the parcel picked up
  (揽收): the order stays paid and held, a ``carrier_status_deferred`` event keeps the scan,
  王五's card gets a 【快递】 line saying the parcel left while frozen; the same report again
  records and sends nothing. 李四 confirms the release: the order moves paid -> picked_up in
  that transaction, step by step, as the carrier's steps. Frozen and in transit: the
  escalated copy carries the line.
* Stalled (ORDER_STALLED only) and the parcel is picked up: the order moves and the stall
  closes by itself (``auto``, its card says the carrier scanned it, its timer goes).
* Stalled and frozen, and the parcel is signed for (签收): kept, the stall stays; the release
  of the freeze moves the order to delivered and then closes the stall.
* Stalled in transit (scans stopped), and the parcel is scanned in transit again: no status
  moves, yet the stall closes by itself (the stalled scan counts the newest scan as movement,
  so it would not reopen it); a late push of a scan older than 48 h closes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.anomalies import AnomalyCode
from core.cards import CardKind
from core.gating import GateKind
from core.order import Order
from core.states import OrderState
from core.timers import escalation_timer
from core.tracking import Parcel, TraceLine, TrackingState, TrackReport
from handlers.chat_deps import ChatDeps
from handlers.click_card import click_card
from handlers.escalate import escalate_anomaly
from handlers.propose_gate import GateRequest, propose_gate
from handlers.track_parcel import apply_report
from handlers.tracking_ports import TrackingDeps
from integrations.logistics.failover import ProviderChain
from storage.customers import SqlCustomerReader
from storage.rate_limit import MemoryRateLimiter
from tests.contract.gate_support import (
    AGENT,
    BOSS,
    UowFactory,
    chat_deps,
    count,
    events,
    ingest,
    tap,
)
from tests.contract.test_held_status import card_body, freeze, status_of
from tests.factories import T0, make_order

MINUTE = timedelta(minutes=1)
T = TrackingState


@pytest.fixture
def tracking(new_uow: UowFactory, engine: AsyncEngine) -> TrackingDeps:
    """Tracking use cases over the contract database; no provider is ever asked (the reports
    are handed in as a push would be)."""
    return TrackingDeps(new_uow, ProviderChain([]), MemoryRateLimiter(), chat_deps(new_uow),
                        SqlCustomerReader(engine))


async def parcel_for(deps: TrackingDeps, order: Order, number: str) -> None:
    async with deps.new_uow() as uow:
        await uow.parcels.register(Parcel("ZTO", number, order.key, order.channel, "wms", T0),
                                   at=T0)
        await uow.commit()


def report(number: str, state: TrackingState, text: str, at: datetime) -> TrackReport:
    return TrackReport("kuaidi100", "ZTO", number, state, "1", (TraceLine(at, text),))


async def release(deps: ChatDeps, order: Order, anomaly_id: int, at: datetime) -> None:
    request = GateRequest(GateKind.RELEASE, "资料已补齐", order_key=order.key,
                          params={"anomaly_id": anomaly_id})
    proposal = await propose_gate(request, AGENT, deps, now=at - MINUTE)
    await click_card(tap(proposal, BOSS, at=at), deps, now=at)


async def card_updates(engine: AsyncEngine, to: str) -> int:
    return await count(engine, "SELECT count(*) FROM outbox WHERE kind = 'card_update' "
                               "AND conversation = :c", c=to)


async def test_a_pick_up_while_frozen_is_kept_told_and_applied_on_release(
        tracking: TrackingDeps, new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(61), tracking.chat
    await ingest(new_uow, order)
    anomaly_id = await freeze(deps, order, AnomalyCode.CUSTOMS_REJECTED)
    await parcel_for(tracking, order, "ZT61")

    picked = report("ZT61", T.PICKED_UP, "【南京】快递员已揽收", T0 + 4 * MINUTE)
    applied = await apply_report(tracking, picked, now=T0 + 5 * MINUTE)
    assert applied.kept and applied.order_moves == () and "held" in (applied.held or "")
    assert await status_of(deps, order) == (OrderState.PAID, ("CUSTOMS_REJECTED",))
    assert await events(engine, order.key, "carrier_status_deferred", target="picked_up",
                        tracking_no="ZT61", carrier="ZTO", scan="picked_up") == 1
    body, status = await card_body(deps, order, anomaly_id)
    assert "【快递】" in body and "中通快递 ZT61 扫描「已揽收」" in body and status == ""
    assert "订单冻结中包裹已被快递揽走，未能拦截" in body
    assert await card_updates(engine, "wangwu") == 1

    again = await apply_report(tracking, picked, now=T0 + 6 * MINUTE)  # a poll repeats it
    assert not again.kept
    assert await events(engine, order.key, "carrier_status_deferred") == 1
    assert await card_updates(engine, "wangwu") == 1

    released = T0 + 11 * MINUTE
    await release(deps, order, anomaly_id, released)
    assert await status_of(deps, order) == (OrderState.PICKED_UP, ())
    assert await events(engine, order.key, "channel_status_applied", target="picked_up",
                        via="carrier", released_by="lisi") == 1
    async with new_uow() as uow:
        trace = await uow.orders.events(order.key)
    moved = [(e.at, e.actor, e.data["to"], e.data["via"]) for e in trace
             if e.kind == "state_changed"]
    assert moved == [(released, "tracking:kuaidi100", state, "carrier") for state in
                     ("awaiting_allocation", "allocated", "label_printed", "picked_up")]


async def test_the_escalated_copy_carries_the_carrier_line(
        tracking: TrackingDeps, new_uow: UowFactory) -> None:
    order, deps = make_order(62), tracking.chat
    await ingest(new_uow, order)
    anomaly_id = await freeze(deps, order, AnomalyCode.CUSTOMS_REJECTED)
    await parcel_for(tracking, order, "ZT62")
    await apply_report(tracking, report("ZT62", T.IN_TRANSIT, "运输中", T0 + 4 * MINUTE),
                       now=T0 + 5 * MINUTE)
    async with new_uow() as uow:
        timer = escalation_timer(anomaly_id, 0, T0 + 7 * MINUTE)
        assert await escalate_anomaly(uow, timer, deps, now=T0 + 7 * MINUTE)
        await uow.commit()
    async with new_uow() as uow:
        copies = await uow.cards.for_ref(CardKind.ANOMALY, str(anomaly_id), order.key)
    (raised,) = [c for c in copies if c.card.title.startswith("【升级】")]
    assert "中通快递 ZT62 扫描「运输中」" in raised.card.body


async def test_a_stalled_order_moves_on_and_the_stall_closes_when_the_parcel_is_picked_up(
        tracking: TrackingDeps, new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(63), tracking.chat
    await ingest(new_uow, order)
    anomaly_id = await freeze(deps, order, AnomalyCode.ORDER_STALLED)
    await parcel_for(tracking, order, "ZT63")
    assert await count(engine, "SELECT count(*) FROM timers WHERE key LIKE :k",
                       k=f"%{anomaly_id}%") == 1
    applied = await apply_report(tracking, report("ZT63", T.PICKED_UP, "已揽收",
                                                  T0 + 4 * MINUTE), now=T0 + 5 * MINUTE)

    assert applied.order_moves[-1] == "picked_up" and not applied.kept
    assert await status_of(deps, order) == (OrderState.PICKED_UP, ())
    assert await events(engine, order.key, "carrier_status_deferred") == 0
    async with new_uow() as uow:
        anomaly = await uow.anomalies.get(anomaly_id)
    assert anomaly is not None and anomaly.resolution is not None
    assert (anomaly.resolution.value, anomaly.resolved_by) == ("auto", "system")
    _, status = await card_body(deps, order, anomaly_id)
    assert "自动关闭（快递扫描订单「已揽收」）" in status
    assert await count(engine, "SELECT count(*) FROM timers WHERE key LIKE :k",
                       k=f"%{anomaly_id}%") == 0


async def test_delivery_while_frozen_and_stalled_waits_for_the_release(
        tracking: TrackingDeps, new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(64), tracking.chat
    await ingest(new_uow, order)
    frozen = await freeze(deps, order, AnomalyCode.CUSTOMS_REJECTED)
    stalled = await freeze(deps, order, AnomalyCode.ORDER_STALLED)
    await parcel_for(tracking, order, "ZT64")
    await apply_report(tracking, report("ZT64", T.DELIVERED, "已签收，本人签收",
                                        T0 + 4 * MINUTE), now=T0 + 5 * MINUTE)

    assert await status_of(deps, order) == (OrderState.PAID,
                                            ("CUSTOMS_REJECTED", "ORDER_STALLED"))
    body, _ = await card_body(deps, order, frozen)
    assert "扫描「已签收」：订单冻结中包裹已签收" in body
    stall_body, stall_status = await card_body(deps, order, stalled)
    assert "【快递】" in stall_body and stall_status == ""  # the stall stays open meanwhile

    await release(deps, order, frozen, T0 + 11 * MINUTE)
    assert await status_of(deps, order) == (OrderState.DELIVERED, ())
    _, stall_status = await card_body(deps, order, stalled)
    assert "自动关闭（快递扫描订单已流转）" in stall_status
    assert await events(engine, order.key, "state_changed", to="delivered",
                        via="carrier") == 1


async def test_a_fresh_scan_answers_a_stall_though_the_order_stays_in_transit(
        tracking: TrackingDeps, new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(65, status=OrderState.IN_TRANSIT), tracking.chat
    await ingest(new_uow, order)
    await parcel_for(tracking, order, "ZT65")
    hour = timedelta(hours=1)
    await apply_report(tracking, report("ZT65", T.IN_TRANSIT, "【南京转运中心】已发出",
                                        T0 + hour), now=T0 + hour)
    stalled = await freeze(deps, order, AnomalyCode.ORDER_STALLED)  # as the scan at 49 h would
    late = await apply_report(tracking, report("ZT65", T.IN_TRANSIT, "【合肥转运中心】已到达",
                                               T0 + 2 * hour), now=T0 + 60 * hour)
    assert late.held is None and late.order_moves == ()  # 58 h old: answers nothing
    assert await status_of(deps, order) == (OrderState.IN_TRANSIT, ("ORDER_STALLED",))

    fresh = await apply_report(tracking, report("ZT65", T.IN_TRANSIT, "【杭州转运中心】已到达",
                                                T0 + 61 * hour), now=T0 + 61 * hour)
    assert fresh.order_moves == () and not fresh.kept
    assert await status_of(deps, order) == (OrderState.IN_TRANSIT, ())
    async with new_uow() as uow:
        anomaly = await uow.anomalies.get(stalled)
    assert anomaly is not None and anomaly.resolution is not None
    assert (anomaly.resolution.value, anomaly.resolved_by) == ("auto", "system")
    _, status = await card_body(deps, order, stalled)
    assert "自动关闭（快递有新扫描，包裹仍在流转）" in status
    assert await events(engine, order.key, "state_changed") == 0
