"""Issue 3 "never lose one": a channel status for a held order, on SQLite and PostgreSQL,
through the real use cases (ingest with chat, the gated release, storage).

Transcripts:

* 清关被拒 freezes a paid order (C card to 王五, warehouse). The channel says 已发货 (our
  ``label_printed``): no dead letter, a ``channel_status_deferred`` event with the word, the
  target and the snapshot, the order stays paid, 王五's card gets a 【渠道】 line; the same push
  again records nothing; the freeze escalates and 李四's copy carries the line. 张三 proposes
  the release, 李四 confirms: in that transaction the order moves paid -> label_printed
  (``channel_status_applied`` + one ``state_changed`` per step).
* Frozen, shipped (deferred), then the buyer cancels on the channel: the order is cancelled at
  once, the freeze closes as ``auto`` (王五's card says the channel cancelled it, the
  escalation timer goes), the shipped report is dropped as impossible; no dead letter.
* Stalled (ORDER_STALLED only) and the channel says shipped: the order moves and the stall
  closes by itself.
* Frozen and the buyer asks for a refund (after-sale): applied, the freeze stays, its card
  says what the channel reported.
* Frozen (and an A fix open), and 李四 confirms 张三's gated cancel: the order is cancelled
  and both anomalies close as when the channel cancels (cards say who, timers go).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from core.anomalies import AnomalyCode
from core.cards import CardKind
from core.gating import GateKind
from core.ingest import Arrival
from core.order import Order
from core.states import OrderState
from core.timers import escalation_timer
from handlers.chat_deps import ChatDeps
from handlers.click_card import click_card
from handlers.escalate import escalate_anomaly
from handlers.ingest_order import IngestOrders, ingest_orders
from handlers.open_anomaly import OpenAnomaly, open_anomaly
from handlers.propose_gate import GateRequest, propose_gate
from tests.contract.gate_support import (
    AGENT,
    BOSS,
    UowFactory,
    cancel_proposal,
    chat_deps,
    count,
    events,
    ingest,
    tap,
)
from tests.factories import T0, make_order

MINUTE = timedelta(minutes=1)
LETTERS = "SELECT count(*) FROM dead_letters"


async def push(deps: ChatDeps, order: Order, status: OrderState, word: str, *,
               minutes: int, snapshot: str = "sha-push") -> None:
    arrived = replace(order, status=status, channel_status=word)
    await ingest_orders(IngestOrders([Arrival(arrived, "webhook:pdd", snapshot)],
                                     T0 + minutes * MINUTE), deps.new_uow, deps)


async def freeze(deps: ChatDeps, order: Order, code: AnomalyCode) -> int:
    async with deps.new_uow() as uow:
        opened = await open_anomaly(uow, OpenAnomaly(order.key, code, "海关退回，资料不全"),
                                    deps, now=T0)
        await uow.commit()
    assert opened is not None and opened.id is not None
    return opened.id


async def status_of(deps: ChatDeps, order: Order) -> tuple[OrderState, tuple[str, ...]]:
    async with deps.new_uow() as uow:
        stored = await uow.orders.get(order.key)
    assert stored is not None
    return stored.order.status, stored.holds


async def card_body(deps: ChatDeps, order: Order, anomaly_id: int) -> tuple[str, str]:
    """The owner's (first) card of the anomaly: body and status line."""
    async with deps.new_uow() as uow:
        record = (await uow.cards.for_ref(CardKind.ANOMALY, str(anomaly_id), order.key))[0]
    return record.card.body, record.card.status or ""


async def test_a_shipped_push_waits_for_the_release_and_then_moves_the_order(
        new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(31), chat_deps(new_uow)
    await ingest(new_uow, order)
    anomaly_id = await freeze(deps, order, AnomalyCode.CUSTOMS_REJECTED)

    await push(deps, order, OrderState.LABEL_PRINTED, "已发货", minutes=5)
    assert await count(engine, LETTERS) == 0
    assert await events(engine, order.key, "channel_status_deferred", channel_status="已发货",
                        target="label_printed", snapshot="sha-push") == 1
    assert await status_of(deps, order) == (OrderState.PAID, ("CUSTOMS_REJECTED",))
    body, _ = await card_body(deps, order, anomaly_id)
    assert "【渠道】" in body and "渠道报告「已打单」（已发货）" in body and "解除后自动" in body
    updates = await count(engine, "SELECT count(*) FROM outbox WHERE kind = 'card_update' "
                                  "AND conversation = 'wangwu'")
    assert updates == 1

    await push(deps, order, OrderState.LABEL_PRINTED, "已发货", minutes=6, snapshot="sha-2")
    assert await events(engine, order.key, "channel_status_deferred") == 1  # idempotent
    assert await count(engine, "SELECT duplicates FROM channel_counters") == 1

    # nobody acted on the freeze: the supervisor's escalated copy carries the channel's news
    async with new_uow() as uow:
        timer = escalation_timer(anomaly_id, 0, T0 + 7 * MINUTE)
        assert await escalate_anomaly(uow, timer, deps, now=T0 + 7 * MINUTE)
        await uow.commit()
    async with new_uow() as uow:
        copies = await uow.cards.for_ref(CardKind.ANOMALY, str(anomaly_id), order.key)
    (raised,) = [c for c in copies if c.card.title.startswith("【升级】")]
    assert "渠道报告「已打单」（已发货）" in raised.card.body

    request = GateRequest(GateKind.RELEASE, "资料已补齐", order_key=order.key,
                          params={"anomaly_id": anomaly_id})
    proposal = await propose_gate(request, AGENT, deps, now=T0 + 10 * MINUTE)
    released = T0 + 11 * MINUTE
    await click_card(tap(proposal, BOSS, at=released), deps, now=released)
    assert await status_of(deps, order) == (OrderState.LABEL_PRINTED, ())
    assert await events(engine, order.key, "channel_status_applied", target="label_printed",
                        released_by="lisi") == 1
    assert await count(engine, LETTERS) == 0
    async with new_uow() as uow:
        trace = await uow.orders.events(order.key)
    moved = [(e.at, e.actor, e.data["to"]) for e in trace if e.kind == "state_changed"]
    assert moved == [(released, "webhook:pdd", "awaiting_allocation"),
                     (released, "webhook:pdd", "allocated"),
                     (released, "webhook:pdd", "label_printed")]  # in the release
    kinds = [e.kind for e in trace]
    assert kinds.index("anomaly_resolved") < kinds.index("channel_status_applied")


async def test_a_cancel_while_frozen_cancels_and_closes_the_freeze(
        new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(32), chat_deps(new_uow)
    await ingest(new_uow, order)
    anomaly_id = await freeze(deps, order, AnomalyCode.CUSTOMS_REJECTED)
    await push(deps, order, OrderState.LABEL_PRINTED, "已发货", minutes=5)
    await push(deps, order, OrderState.CANCELLED, "交易关闭", minutes=8)

    assert await status_of(deps, order) == (OrderState.CANCELLED, ())
    assert await count(engine, LETTERS) == 0
    async with new_uow() as uow:
        anomaly = await uow.anomalies.get(anomaly_id)
    assert anomaly is not None and anomaly.resolution is not None
    assert (anomaly.status.value, anomaly.resolution.value) == ("resolved", "auto")
    _, status = await card_body(deps, order, anomaly_id)
    assert "渠道报告订单「已取消」" in status
    assert await count(engine, "SELECT count(*) FROM timers WHERE key LIKE :k",
                       k=f"%{anomaly_id}%") == 0
    assert await events(engine, order.key, "state_changed", to="cancelled") == 1
    assert await events(engine, order.key, "channel_status_dropped", target="label_printed") \
        == 1  # the shipped report can never apply to a cancelled order


async def test_a_stalled_order_moves_on_when_the_channel_says_shipped(
        new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(33), chat_deps(new_uow)
    await ingest(new_uow, order)
    anomaly_id = await freeze(deps, order, AnomalyCode.ORDER_STALLED)
    await push(deps, order, OrderState.LABEL_PRINTED, "已发货", minutes=5)

    assert await status_of(deps, order) == (OrderState.LABEL_PRINTED, ())
    assert await events(engine, order.key, "channel_status_deferred") == 0
    async with new_uow() as uow:
        anomaly = await uow.anomalies.get(anomaly_id)
    assert anomaly is not None and anomaly.resolution is not None
    assert anomaly.resolution.value == "auto" and anomaly.resolved_by == "system"
    _, status = await card_body(deps, order, anomaly_id)
    assert "自动关闭" in status


async def test_a_refund_request_while_frozen_applies_and_the_card_says_so(
        new_uow: UowFactory, engine: AsyncEngine) -> None:
    """After-sale (the buyer asked for a refund) is not the end of the order: it applies at
    once (a held order may leave the fulfilment path), the freeze stays for a person to
    decide, and its card tells the owner what the channel reported."""
    order, deps = make_order(34), chat_deps(new_uow)
    await ingest(new_uow, order)
    anomaly_id = await freeze(deps, order, AnomalyCode.CUSTOMS_REJECTED)
    await push(deps, order, OrderState.AFTER_SALE, "退款中", minutes=5)

    assert await status_of(deps, order) == (OrderState.AFTER_SALE, ("CUSTOMS_REJECTED",))
    assert await count(engine, LETTERS) == 0
    body, status = await card_body(deps, order, anomaly_id)
    assert "渠道报告「售后中」（退款中）：已记入订单" in body and status == ""


async def test_a_confirmed_cancel_closes_the_open_anomalies_and_their_timers(
        new_uow: UowFactory, engine: AsyncEngine) -> None:
    order, deps = make_order(35), chat_deps(new_uow)
    await ingest(new_uow, order)
    frozen = await freeze(deps, order, AnomalyCode.CUSTOMS_REJECTED)
    fix = await freeze(deps, order, AnomalyCode.PHONE_INVALID)
    timers = "SELECT count(*) FROM timers WHERE key LIKE :k"
    assert await count(engine, timers, k=f"%:{frozen}:%") + \
        await count(engine, timers, k=f"%:{fix}:%") == 2

    proposal = await cancel_proposal(deps, order, at=T0 + 2 * MINUTE)
    await click_card(tap(proposal, BOSS, at=T0 + 3 * MINUTE), deps, now=T0 + 3 * MINUTE)

    assert await status_of(deps, order) == (OrderState.CANCELLED, ())
    for anomaly_id in (frozen, fix):
        async with new_uow() as uow:
            anomaly = await uow.anomalies.get(anomaly_id)
        assert anomaly is not None and anomaly.resolution is not None
        assert (anomaly.status.value, anomaly.resolution.value, anomaly.resolved_by) == (
            "resolved", "gated", "lisi")
        _, status = await card_body(deps, order, anomaly_id)
        assert "已由 李四 关闭（主管确认订单「已取消」）" in status
        assert await count(engine, timers, k=f"%:{anomaly_id}:%") == 0
    assert await events(engine, order.key, "anomaly_resolved") == 2
