"""The gated-action card a supervisor decides on, and how it reads after the decision.

What the supervisor sees on a phone: what is proposed and why (the evidence), what confirming
will do (honestly: for a refund or a delist orderbot only notifies a person), the order in
brief (masked), the deadline, and how often this kind of proposal was right before. Buttons
carry ``act:v1:<card_id>:gate_confirm|gate_reject`` and nothing else.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.card_views import mask_name
from core.cards import CardKind, CardRecord, Verb
from core.chat import Button, Card, format_payload
from core.clock import SHANGHAI, shanghai_text
from core.gating import GateKind, GateState, Proposal
from core.masking import mask_address
from core.money import fen_to_yuan
from core.order import Order
from core.people import Role
from core.states import label

WHAT_HAPPENS = {
    GateKind.CANCEL: "确认后：订单状态改为「已取消」，记入订单轨迹。",
    GateKind.MERGE: "确认后：本单按重复单取消并标记合并到保留的订单，两单轨迹都会记录。",
    GateKind.CHANGE_ADDRESS: "确认后：收件信息更新为新地址，记入订单轨迹。",
    GateKind.RELEASE: "确认后：解除冻结（关闭 C 类异常），订单可继续流转。",
    GateKind.REFUND: "注意：orderbot 未接入支付，确认后不会自动退款，"
                     "而是通知财务在渠道后台手动退款。",
    GateKind.DELIST: "注意：orderbot 未接入商品服务，确认后不会自动下架，"
                     "而是通知运营在各渠道手动下架。",
}  # fmt: skip


def _who(proposal: Proposal, proposer_name: str) -> str:
    return "系统" if proposal.by_system else proposer_name


def gate_card(card_id: str, proposal: Proposal, accuracy: str, order: Order | None,
              proposer_name: str) -> CardRecord:
    """The card sent to every decider when a proposal is made (``proposal.id`` is set)."""
    fields: list[tuple[str, str]] = []
    if order is not None:
        fields += [("订单", order.key), ("状态", label(order.status)),
                   ("金额", f"¥{fen_to_yuan(order.paid_fen)}"),
                   ("收件人", mask_name(order.receiver.name))]
    elif proposal.order_key:
        fields.append(("订单", proposal.order_key))
    if proposal.subject:
        fields.append(("商品", proposal.subject))
    fields += [*_params(proposal), *proposal.evidence,
               ("提议人", _who(proposal, proposer_name)),
               ("截止", shanghai_text(proposal.deadline))]
    body = "\n".join([f"原因：{proposal.reason}", accuracy, WHAT_HAPPENS[proposal.kind]])
    buttons = (
        Button("gate_confirm", format_payload(card_id, Verb.GATE_CONFIRM), "确认",
               style="primary", role_required=Role.SUPERVISOR.value),
        Button("gate_reject", format_payload(card_id, Verb.GATE_REJECT), "拒绝",
               role_required=Role.SUPERVISOR.value),
    )
    card = Card(card_id=card_id, title=f"待确认：{proposal.label}", body=body,
                fields=tuple(fields), buttons=buttons)
    return CardRecord(card, CardKind.GATE, str(proposal.id), proposal.order_key)


def _params(proposal: Proposal) -> list[tuple[str, str]]:
    """The proposal's specifics, masked like every card (cards are forwarded)."""
    params = proposal.params
    if proposal.kind is GateKind.MERGE:
        return [("保留订单", str(params.get("keep", "-")))]
    if proposal.kind is GateKind.REFUND and isinstance(params.get("amount_fen"), int):
        return [("退款金额", f"¥{fen_to_yuan(params['amount_fen'])}")]
    if proposal.kind is GateKind.CHANGE_ADDRESS:
        new = params.get("receiver") or {}
        region = "".join(str(new.get(k) or "") for k in ("province", "city", "district"))
        return [("新地址", f"{region}{mask_address(str(new.get('address') or '')) or ''}")]
    if proposal.kind is GateKind.RELEASE:
        return [("冻结异常", f"#{params.get('anomaly_id')}")]
    return []


_DONE = {GateState.EXECUTED: "确认", GateState.FAILED: "确认", GateState.CONFIRMED: "确认",
         GateState.REJECTED: "拒绝"}


def decided_card(record: CardRecord, proposal: Proposal, decider_name: str) -> CardRecord:
    """Every holder's copy after the decision: "已由 李四 确认 10:42", the outcome, no buttons."""
    at = proposal.decided_at or proposal.executed_at
    assert at is not None, "a decided proposal has a decision time"
    status = f"已由 {decider_name} {_DONE[proposal.state]} {at.astimezone(SHANGHAI):%H:%M}"
    return _closed(record, status, _outcome(proposal), proposal.decided_by, at)


def expired_card(record: CardRecord, proposal: Proposal, at: datetime) -> CardRecord:
    """Nobody decided in time: the card says so and loses its buttons."""
    status = f"已过期 {at.astimezone(SHANGHAI):%H:%M}（截止前无人决定，未执行）"
    return _closed(record, status, "结果：已过期，未执行。", None, at)


def _outcome(proposal: Proposal) -> str:
    if proposal.state is GateState.REJECTED:
        return "结果：已拒绝，未执行。" + (f"（{proposal.note}）" if proposal.note else "")
    if proposal.state is GateState.FAILED:
        return f"结果：确认后无法执行：{proposal.note}"
    return f"结果：{proposal.note or '已执行'}"


def _closed(record: CardRecord, status: str, outcome: str, by: str | None,
            at: datetime) -> CardRecord:
    card = replace(record.card, status=status, buttons=(), version=record.version + 1,
                   body=f"{record.card.body}\n{outcome}")
    return replace(record, card=card, handled_by=by or "system", handled_at=at)


def proposer_notice(proposal: Proposal, decider_name: str) -> str:
    """What the proposer is told when their proposal is decided or expires."""
    what = f"您提出的「{proposal.label}」提议 #{proposal.id}"
    if proposal.order_key:
        what += f"（订单 {proposal.order_key}）"
    if proposal.state is GateState.EXPIRED:
        return f"{what}截止前无人决定，已过期，未执行。如仍需要，请重新提出。"
    if proposal.state is GateState.REJECTED:
        return f"{what}已被 {decider_name} 拒绝，未执行。"
    if proposal.state is GateState.FAILED:
        return f"{what}已被 {decider_name} 确认，但无法执行：{proposal.note}"
    return f"{what}已被 {decider_name} 确认：{proposal.note or '已执行'}。"
