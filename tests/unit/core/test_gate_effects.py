"""What a confirmed gated action does to orders, as a plan (pure): one kind at a time."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from core.anomalies import AnomalyCode, AnomalyStatus, open_anomaly
from core.events import ChainHead, verify_chain
from core.gate_effects import EffectInput, GateEffectError, involved_orders, plan_effect
from core.gate_views import decided_card, gate_card, proposer_notice
from core.gating import (
    DEFAULT_POLICIES,
    GateKind,
    GateState,
    Proposal,
    Verdict,
    decide,
    finish,
    propose,
)
from core.ingest import StoredOrder
from core.people import Person, Role
from core.states import OrderState
from tests.factories import T0, make_order

AGENT = Person("zhangsan", "张三", frozenset({Role.AGENT}))
ORDER = make_order(1)
TWIN = make_order(1, channel="jd", channel_order_id="88001")


def stored(order: Any, holds: tuple[str, ...] = ()) -> StoredOrder:
    return StoredOrder(order, ChainHead(), holds, version=1)


def proposal(kind: GateKind, **kw: Any) -> Proposal:
    kw.setdefault("order_key", TWIN.key if kind is GateKind.MERGE else ORDER.key)
    made = propose(kind, proposer=AGENT, reason="原因", at=T0, policy=DEFAULT_POLICIES[kind],
                   **kw)
    return replace(made, id=5)


def test_cancel_goes_through_the_state_machine_and_chains_events() -> None:
    plan = plan_effect(proposal(GateKind.CANCEL), EffectInput({ORDER.key: stored(ORDER)}),
                       actor="lisi", at=T0)
    (change,) = plan.changes
    assert change.order.status is OrderState.CANCELLED
    assert [e.kind for e in change.events] == ["gate_confirmed", "state_changed"]
    assert change.events[1].data == {"from": "paid", "to": "cancelled", "via": "gate",
                                     "why": "原因", "gate_id": 5}
    assert verify_chain(change.events).ok and plan.summary == "订单已取消"


def test_a_held_order_may_still_be_cancelled_but_a_shipped_one_not() -> None:
    held = stored(ORDER, holds=("ORDER_STALLED",))
    plan = plan_effect(proposal(GateKind.CANCEL), EffectInput({ORDER.key: held}), actor="lisi",
                       at=T0)
    assert plan.changes[0].order.status is OrderState.CANCELLED
    shipped = stored(replace(ORDER, status=OrderState.IN_TRANSIT))
    with pytest.raises(GateEffectError) as refused:
        plan_effect(proposal(GateKind.CANCEL), EffectInput({ORDER.key: shipped}), actor="lisi",
                    at=T0)
    assert "运输中" in refused.value.reply


def test_merge_cancels_the_duplicate_into_the_kept_order_and_closes_the_anomaly() -> None:
    anomaly = replace(open_anomaly(TWIN.key, AnomalyCode.SUSPECTED_DUPLICATE, at=T0,
                                   reason="同一买家", data={"other": ORDER.key}), id=9)
    gate = proposal(GateKind.MERGE, params={"keep": ORDER.key})
    assert involved_orders(gate) == [TWIN.key, ORDER.key]
    loaded = EffectInput({TWIN.key: stored(TWIN), ORDER.key: stored(ORDER)}, [anomaly])
    plan = plan_effect(gate, loaded, actor="lisi", at=T0)
    duplicate, kept = plan.changes
    assert duplicate.order.status is OrderState.CANCELLED
    assert [e.kind for e in duplicate.events] == ["gate_confirmed", "merged_into",
                                                  "state_changed"]
    assert kept.order == ORDER and [e.kind for e in kept.events] == ["merged_from"]
    assert kept.events[0].data["duplicate"] == TWIN.key and plan.resolve == (9,)


def test_address_change_after_allocation_until_pickup() -> None:
    allocated = replace(ORDER, status=OrderState.ALLOCATED)
    new = {"province": "上海市", "city": "上海市", "district": "浦东新区",
           "address": "世纪大道 1 号"}
    gate = proposal(GateKind.CHANGE_ADDRESS, params={"receiver": new})
    plan = plan_effect(gate, EffectInput({ORDER.key: stored(allocated)}), actor="lisi", at=T0)
    order = plan.changes[0].order
    assert (order.receiver.city, order.receiver.address) == ("上海市", "世纪大道 1 号")
    assert order.receiver.phone == ORDER.receiver.phone  # untouched fields stay
    event = plan.changes[0].events[1]
    assert event.kind == "address_changed" and "世纪大道 1 号" not in str(event.data)
    picked = stored(replace(ORDER, status=OrderState.PICKED_UP))
    with pytest.raises(GateEffectError, match="fixed"):
        plan_effect(gate, EffectInput({ORDER.key: picked}), actor="lisi", at=T0)


def test_release_closes_the_freeze_only() -> None:
    freeze = replace(open_anomaly(ORDER.key, AnomalyCode.CUSTOM_SPEC_CONFLICT, at=T0,
                                  reason="图纸与工艺冲突"), id=3)
    gate = proposal(GateKind.RELEASE, params={"anomaly_id": 3})
    loaded = EffectInput({ORDER.key: stored(ORDER, ("CUSTOM_SPEC_CONFLICT",))}, [freeze])
    plan = plan_effect(gate, loaded, actor="lisi", at=T0)
    assert plan.resolve == (3,) and plan.changes[0].order == ORDER
    assert plan.changes[0].events[1].data["decision"] == "released"
    done = replace(freeze, status=AnomalyStatus.RESOLVED)
    with pytest.raises(GateEffectError, match="already resolved"):
        plan_effect(gate, replace(loaded, anomalies=[done]), actor="lisi", at=T0)
    a_class = replace(freeze, code=AnomalyCode.ADDRESS_MISSING)
    with pytest.raises(GateEffectError, match="not a freeze"):
        plan_effect(gate, replace(loaded, anomalies=[a_class]), actor="lisi", at=T0)


def test_refund_and_delist_are_handed_to_a_person_not_pretended() -> None:
    refund = proposal(GateKind.REFUND, params={"amount_fen": 12_345})
    plan = plan_effect(refund, EffectInput({ORDER.key: stored(ORDER)}, actor_name="李四"),
                       actor="lisi", at=T0)
    assert plan.changes[0].order.status is OrderState.PAID  # not "refunded": nothing was paid
    assert "¥123.45" in plan.handwork and "不会自动退款" in plan.handwork
    assert "李四" in plan.handwork and "人工" in plan.summary
    delist = proposal(GateKind.DELIST, order_key=None, subject="SKU-0001")
    plan = plan_effect(delist, EffectInput({}), actor="lisi", at=T0)
    assert plan.changes == () and "SKU-0001" in plan.handwork and "手动下架" in plan.handwork


def test_cards_show_accuracy_masked_details_and_who_decided() -> None:
    gate = proposal(GateKind.CHANGE_ADDRESS,
                    params={"receiver": {"city": "上海市", "address": "世纪大道 100 号 2 室"}})
    record = gate_card("gate-1", gate, "分仓后改地址 建议准确率 90.0% (9/10)", ORDER, "张三")
    card = record.card
    assert card.title == "待确认：分仓后改地址" and "90.0% (9/10)" in card.body
    assert "世纪大道 100" not in str(card.fields) and ("提议人", "张三") in card.fields
    assert [b.payload for b in card.buttons] == ["act:v1:gate-1:gate_confirm",
                                                 "act:v1:gate-1:gate_reject"]
    boss = Person("lisi", "李四", frozenset({Role.SUPERVISOR}))
    confirmed = decide(gate, Verdict.CONFIRM, boss, at=T0,
                       policy=DEFAULT_POLICIES[GateKind.CHANGE_ADDRESS])
    done = finish(confirmed, at=T0, ok=True, note="收件地址已更新")
    after = decided_card(record, done, "李四")
    assert after.card.status == "已由 李四 确认 10:00" and after.card.buttons == ()
    assert after.version == record.version + 1 and after.handled_by == "lisi"
    assert proposer_notice(done, "李四").endswith("已被 李四 确认：收件地址已更新。")
    assert done.state is GateState.EXECUTED
