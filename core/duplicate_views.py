"""The suspected-duplicate card around a merge proposal, and the evidence the merge card shows.

"确认重复" on a duplicate card does not merge anything by itself: merging cancels an order, so
it is a gated action (``core.gating``, kind ``merge``). While the proposal waits, every copy of
the duplicate card (the agents', an escalated supervisor's) says so and offers no buttons
(``awaiting_merge``); the anomaly stays open. A confirmed merge resolves the anomaly and closes
the cards like any resolution; a rejected, expired or failed one gives the cards their buttons
back with a line saying what happened (``reopened``): the orders are still possibly twins and
someone must still decide.

Pure: handlers load the records, call these and store what comes back (version + 1 each time).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.anomalies import Anomaly
from core.card_views import mask_name, suspected_duplicate
from core.cards import CardRecord
from core.clock import SHANGHAI, shanghai_text
from core.masking import mask_address, mask_phone
from core.money import fen_to_yuan
from core.order import Order
from core.states import label

PROPOSAL_FIELD = "合并提议"
MERGE_DONE = "确认重复"  # "已由 李四 确认重复 10:42" when a supervisor merges at once


def merge_reason(anomaly: Anomaly) -> str:
    """The proposal's reason (the gate card's "原因：..."): the detection's own words."""
    return f"疑似重复订单：{anomaly.reason}"


def order_summary(order: Order) -> str:
    """One masked line per order for the merge card (cards are forwarded: no whole phone,
    no street): channel, status, amount paid, goods, buyer, region, when it was placed."""
    receiver = order.receiver
    region = "".join(p for p in (receiver.province, receiver.city, receiver.district) if p)
    goods = "、".join(f"{line.title or line.sku}×{line.quantity}" for line in order.lines[:3])
    if len(order.lines) > 3:
        goods += f" 等 {len(order.lines)} 行"
    who = f"{mask_name(receiver.name)} {mask_phone(receiver.phone) or ''}".strip()
    where = f"{region}{mask_address(receiver.address) or ''}" or "-"
    return (f"{label(order.status)} ¥{fen_to_yuan(order.paid_fen)}｜{goods or '无商品行'}｜"
            f"{who}｜{where}｜下单 {shanghai_text(order.created_at)}")


def merge_evidence(duplicate: Order, keep: Order | None,
                   anomaly: Anomaly) -> tuple[tuple[str, str], ...]:
    """Both orders side by side (masked) and why they look like one purchase."""
    rows = [("将取消（重复单）", f"{duplicate.key}：{order_summary(duplicate)}")]
    kept = str(anomaly.data.get("other", "-"))
    rows.append(("将保留", f"{kept}：{order_summary(keep)}" if keep else f"{kept}：（未找到）"))
    return tuple(rows)


def awaiting_merge(record: CardRecord, proposer_name: str, proposal_id: int,
                   deadline: datetime, at: datetime) -> CardRecord:
    """A copy of the duplicate card while its merge proposal waits: no buttons (the decision is
    the supervisor's now), still open (``handled_by`` None: the anomaly is not resolved)."""
    card = record.card
    fields = (*_without_proposal(card.fields),
              (PROPOSAL_FIELD, f"#{proposal_id} 待主管确认，截止 {shanghai_text(deadline)}"))
    status = f"已由 {proposer_name} 提出合并（待主管确认） {at.astimezone(SHANGHAI):%H:%M}"
    return replace(record, card=replace(card, fields=fields, status=status, buttons=(),
                                        version=card.version + 1))


def reopened(record: CardRecord, anomaly: Anomaly, note: str) -> CardRecord:
    """A copy of the duplicate card after its merge was not carried out (rejected, expired,
    failed): the buttons are back and ``note`` says why, so someone decides again."""
    card = record.card
    buttons = suspected_duplicate(card.card_id, anomaly).card.buttons
    fields = (*_without_proposal(card.fields), (PROPOSAL_FIELD, note))
    return replace(record, card=replace(card, fields=fields, status="", buttons=buttons,
                                        version=card.version + 1),
                   handled_by=None, handled_at=None)


def _without_proposal(fields: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    return tuple((k, v) for k, v in fields if k != PROPOSAL_FIELD)
