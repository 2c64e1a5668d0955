"""What a confirmed gated action does, as data: new order versions, their events, anomalies to
close, and work a person must do by hand.

Pure: the decide handler loads the orders and anomalies involved, calls ``plan_effect`` and
writes the plan in the same transaction as the proposal's conditional state change. Effects
that the domain can carry out today are carried out (cancel, merge, address change, release);
refund and delist are not: orderbot has no payment or product service, so the plan records the
decision on the order and hands the work to a person (finance / ops) with exact instructions.
Nothing pretends a refund happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from core.anomalies import Anomaly, AnomalyClass, AnomalyCode, AnomalyStatus
from core.clock import shanghai_text
from core.errors import IllegalTransitionError, OrderHeldError
from core.events import OrderEvent, append_event
from core.gating import GateError, GateKind, Proposal
from core.ingest import StoredOrder
from core.masking import mask_address
from core.money import fen_to_yuan
from core.order import RECEIVER_FIELDS, Order, Receiver
from core.states import OrderState, check_transition, label

# An address may still change until a carrier has the parcel.
_ADDRESS_CHANGEABLE = frozenset({OrderState.PENDING_PAYMENT, OrderState.DEPOSIT_PAID,
                                 OrderState.PAID, OrderState.AWAITING_ALLOCATION,
                                 OrderState.ALLOCATED, OrderState.LABEL_PRINTED})


class GateEffectError(GateError):
    """The confirmed action cannot be carried out any more; ``reply`` says why."""


@dataclass(frozen=True, slots=True)
class OrderChange:
    stored: StoredOrder
    order: Order
    events: tuple[OrderEvent, ...]


@dataclass(frozen=True, slots=True)
class EffectPlan:
    changes: tuple[OrderChange, ...] = ()
    resolve: tuple[int, ...] = ()  # anomaly ids closed by this decision
    handwork: str = ""  # instructions for the policy's handwork role ("" = none)
    summary: str = ""  # what happened, for the card and the proposer


@dataclass(frozen=True, slots=True)
class EffectInput:
    """What the handler loaded: the orders named by the proposal and their anomalies."""

    orders: Mapping[str, StoredOrder]
    anomalies: Sequence[Anomaly] = ()
    actor_name: str = ""  # the decider's display name, for instructions to a person


def involved_orders(proposal: Proposal) -> list[str]:
    """The order keys the handler must load (locked) before planning."""
    keys = [proposal.order_key] if proposal.order_key else []
    keep = proposal.params.get("keep")
    return [*keys, keep] if proposal.kind is GateKind.MERGE and isinstance(keep, str) else keys


def plan_effect(proposal: Proposal, loaded: EffectInput, *, actor: str,
                at: datetime) -> EffectPlan:
    """The effect of confirming ``proposal`` (by ``actor``). Raises ``GateEffectError``."""
    planner = _PLANNERS[proposal.kind]
    return planner(proposal, loaded, actor, at)


def decision_event(proposal: Proposal, stored: StoredOrder, kind: str, *, actor: str,
                   at: datetime, extra: Mapping[str, Any] | None = None) -> OrderEvent:
    """``gate_proposed`` / ``gate_confirmed`` / ``gate_rejected`` / ``gate_expired`` /
    ``gate_failed`` on the proposal's order: every decision is part of the order trace."""
    data = {"gate_id": proposal.id, "gate": proposal.kind.value, "reason": proposal.reason,
            "proposer": proposal.proposer} | dict(extra or {})
    return append_event(stored.head, stored.order.key, at=at, actor=actor, kind=kind,
                        data=data)


def _order(loaded: EffectInput, key: str | None) -> StoredOrder:
    stored = loaded.orders.get(key or "")
    if stored is None:
        raise GateEffectError(f"order {key} not found", f"找不到订单 {key}，未执行。")
    return stored


def _chain(proposal: Proposal, stored: StoredOrder, order: Order, actor: str, at: datetime,
           steps: Sequence[tuple[str, Mapping[str, Any]]]) -> OrderChange:
    """``gate_confirmed`` followed by the effect's events, chained from the stored head."""
    events = [decision_event(proposal, stored, "gate_confirmed", actor=actor, at=at)]
    for kind, data in steps:
        events.append(append_event(events[-1].head, order.key, at=at, actor=actor, kind=kind,
                                   data=dict(data) | {"gate_id": proposal.id}))
    return OrderChange(stored, order, tuple(events))


def _cancelled(stored: StoredOrder, why: str) -> tuple[Order, tuple[str, Mapping[str, Any]]]:
    current = stored.order.status
    try:
        check_transition(current, OrderState.CANCELLED, stored.holds)
    except (IllegalTransitionError, OrderHeldError):
        raise GateEffectError(f"{stored.order.key}: {current} cannot be cancelled",
                              f"订单当前状态为「{label(current)}」，已不能取消，未执行。") from None
    step = ("state_changed", {"from": current.value, "to": OrderState.CANCELLED.value,
                              "via": "gate", "why": why})
    return replace(stored.order, status=OrderState.CANCELLED), step


def _cancel(proposal: Proposal, loaded: EffectInput, actor: str, at: datetime) -> EffectPlan:
    stored = _order(loaded, proposal.order_key)
    order, step = _cancelled(stored, proposal.reason)
    return EffectPlan((_chain(proposal, stored, order, actor, at, [step]),),
                      summary="订单已取消")


def _merge(proposal: Proposal, loaded: EffectInput, actor: str, at: datetime) -> EffectPlan:
    """The duplicate (``order_key``) is cancelled as merged into ``keep``; both traces say so;
    the SUSPECTED_DUPLICATE anomalies of the duplicate are closed."""
    duplicate = _order(loaded, proposal.order_key)
    keep = _order(loaded, str(proposal.params["keep"]))
    order, step = _cancelled(duplicate, f"merged into {keep.order.key}")
    merged = ("merged_into", {"keep": keep.order.key})
    dup_change = _chain(proposal, duplicate, order, actor, at, [merged, step])
    kept = append_event(keep.head, keep.order.key, at=at, actor=actor, kind="merged_from",
                        data={"duplicate": duplicate.order.key, "gate_id": proposal.id})
    resolve = tuple(a.id for a in loaded.anomalies
                    if a.id is not None and a.order_key == duplicate.order.key
                    and a.code is AnomalyCode.SUSPECTED_DUPLICATE
                    and a.status is AnomalyStatus.OPEN)
    return EffectPlan((dup_change, OrderChange(keep, keep.order, (kept,))), resolve,
                      summary=f"已合并：{duplicate.order.key} 取消，保留 {keep.order.key}")


def _change_address(proposal: Proposal, loaded: EffectInput, actor: str,
                    at: datetime) -> EffectPlan:
    stored = _order(loaded, proposal.order_key)
    status = stored.order.status
    if status not in _ADDRESS_CHANGEABLE:
        raise GateEffectError(f"{stored.order.key}: address fixed at {status}",
                              f"订单已「{label(status)}」，包裹已交承运商，不能再改地址，未执行。")
    new = dict(proposal.params["receiver"])
    old = stored.order.receiver
    receiver = Receiver(**{name: new.get(name, getattr(old, name)) or getattr(old, name)
                           for name in RECEIVER_FIELDS})
    changed = [n for n in RECEIVER_FIELDS if getattr(receiver, n) != getattr(old, n)]
    step = ("address_changed", {"changed": changed, "via": "gate",
                                "old": mask_address(old.address) or "",
                                "new": mask_address(receiver.address) or ""})
    order = replace(stored.order, receiver=receiver)
    return EffectPlan((_chain(proposal, stored, order, actor, at, [step]),),
                      summary="收件地址已更新")


def _release(proposal: Proposal, loaded: EffectInput, actor: str, at: datetime) -> EffectPlan:
    stored = _order(loaded, proposal.order_key)
    anomaly_id = int(proposal.params["anomaly_id"])
    anomaly = next((a for a in loaded.anomalies if a.id == anomaly_id), None)
    if anomaly is None or anomaly.order_key != stored.order.key:
        raise GateEffectError(f"anomaly {anomaly_id} not on {stored.order.key}",
                              "找不到冻结该订单的异常，未执行。")
    if anomaly.status is not AnomalyStatus.OPEN:
        raise GateEffectError(f"anomaly {anomaly_id} already resolved",
                              "该冻结已被解除，无需再执行。")
    if anomaly.klass is not AnomalyClass.C:
        raise GateEffectError(f"anomaly {anomaly_id} is {anomaly.klass}, not a freeze",
                              "该异常不是冻结（C 类），不能用解冻处理。")
    step = ("anomaly_resolved", {"anomaly_id": anomaly_id, "code": anomaly.code.value,
                                 "decision": "released"})
    change = _chain(proposal, stored, stored.order, actor, at, [step])
    return EffectPlan((change,), (anomaly_id,), summary="冻结已解除，订单可继续流转")


def _handwork(proposal: Proposal, loaded: EffectInput, actor: str, at: datetime) -> EffectPlan:
    """Refund / delist: recorded as a decision; a person does it in the channel back office."""
    text = _instructions(proposal, loaded.actor_name or actor, at)
    changes: tuple[OrderChange, ...] = ()
    if proposal.order_key:
        stored = _order(loaded, proposal.order_key)
        step = ("handwork_requested", {"what": proposal.kind.value, "text": text})
        changes = (_chain(proposal, stored, stored.order, actor, at, [step]),)
    who = "财务" if proposal.kind is GateKind.REFUND else "运营"
    return EffectPlan(changes, handwork=text,
                      summary=f"已通知{who}人工处理（orderbot 不直接执行{proposal.label}）")


def _instructions(proposal: Proposal, actor: str, at: datetime) -> str:
    when = shanghai_text(at)
    if proposal.kind is GateKind.REFUND:
        amount = proposal.params.get("amount_fen")
        money = f" ¥{fen_to_yuan(amount)}" if isinstance(amount, int) else "（金额按订单实付核对）"
        return (f"【需人工退款】订单 {proposal.order_key} 退款{money}，原因：{proposal.reason}。"
                f"已由 {actor} 于 {when} 确认。orderbot 未接入支付，不会自动退款："
                "请在渠道后台或支付平台手动退款。")
    return (f"【需人工下架】商品 {proposal.subject}，原因：{proposal.reason}。已由 {actor} 于 "
            f"{when} 确认。orderbot 未接入商品服务，不会自动下架：请在各渠道后台手动下架。")


_PLANNERS = {
    GateKind.CANCEL: _cancel,
    GateKind.MERGE: _merge,
    GateKind.CHANGE_ADDRESS: _change_address,
    GateKind.RELEASE: _release,
    GateKind.REFUND: _handwork,
    GateKind.DELIST: _handwork,
}
