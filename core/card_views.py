"""The cards orderbot sends, as neutral ``Card`` values: order detail, dead letter (and the
digest of a burst of them), suspected duplicate, new order.

What a person reads on a phone: status in Chinese, amounts in yuan, Beijing time, and personal
data masked (phones and street addresses never appear whole on a card; cards are forwarded).
Buttons carry ``act:v1:<card_id>:<verb>`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from core.anomalies import Anomaly, AnomalyStatus
from core.card_pacing import SourceCount
from core.cards import CardKind, CardRecord, Verb
from core.chat import Button, Card, format_payload
from core.clock import SHANGHAI, shanghai_text
from core.masking import mask_address, mask_phone, mask_text
from core.money import fen_to_yuan
from core.order import Order
from core.people import Role
from core.states import label

MAX_LINES = 10


def mask_name(name: str | None) -> str:
    """张三丰 -> 张**: enough to recognise a buyer on a card, not enough to identify one."""
    return f"{name[0]}{'*' * min(len(name) - 1, 3)}" if name else "-"


def order_detail(card_id: str, order: Order, anomalies: Sequence[Anomaly]) -> CardRecord:
    """The generic "order detail" card any staff member gets by typing an order number."""
    receiver = order.receiver
    region = "".join(p for p in (receiver.province, receiver.city, receiver.district) if p)
    fields = (
        ("状态", label(order.status)),
        ("渠道", order.channel),
        ("金额", f"¥{fen_to_yuan(order.total_fen)}（实付 ¥{fen_to_yuan(order.paid_fen)}，"
                 f"运费 ¥{fen_to_yuan(order.freight_fen)}）"),
        ("下单", shanghai_text(order.created_at)),
        ("收件人", f"{mask_name(receiver.name)} {mask_phone(receiver.phone) or ''}".strip()),
        ("地址", f"{region}{mask_address(receiver.address) or ''}" or "-"),
    )
    body = "\n".join([*_line_rows(order), *_anomaly_rows(anomalies)])
    refresh = Button("refresh", format_payload(card_id, Verb.REFRESH), "刷新")
    card = Card(card_id=card_id, title=f"订单 {order.key}", body=body, fields=fields,
                buttons=(refresh,))
    return CardRecord(card, CardKind.ORDER_DETAIL, order.key, order.key)


def _line_rows(order: Order) -> list[str]:
    rows = [f"- {line.title or line.sku} × {line.quantity}  ¥{fen_to_yuan(line.paid_fen)}"
            for line in order.lines[:MAX_LINES]]
    if len(order.lines) > MAX_LINES:
        rows.append(f"- …… 共 {len(order.lines)} 行")
    return rows or ["- （无商品行）"]


def _anomaly_rows(anomalies: Sequence[Anomaly]) -> list[str]:
    open_ = [a for a in anomalies if a.status is AnomalyStatus.OPEN]
    if not open_:
        return ["", "异常：无"]
    return ["", f"异常（{len(open_)}）："] + [
        f"- [{a.klass.value}] {a.code.value}{'（阻塞）' if a.blocking else ''}：{a.reason}"
        for a in open_
    ]


def dead_letter(card_id: str, letter_id: int, source: str, reason: str,
                received_at: datetime, *, more_later: datetime | None = None) -> CardRecord:
    """To ops: something could not be processed and waits for a fix and a replay.
    ``more_later``: this is the window's last card of its own; later ones are summed up then."""
    body = _short(mask_text(reason), 200)
    if more_later is not None:
        body += (f"\n\n（本时段逐条通知已达上限，之后的死信将于 "
                 f"{more_later.astimezone(SHANGHAI):%H:%M} 汇总为一张卡片）")
    card = Card(
        card_id=card_id, title=f"死信 #{letter_id}", body=body,
        fields=(("来源", source), ("时间", shanghai_text(received_at))),
        buttons=(_handled(card_id),),
    )
    return CardRecord(card, CardKind.DEAD_LETTER, str(letter_id))


def dead_letter_digest(card_id: str, start: datetime, end: datetime, total: int, singles: int,
                       sources: Sequence[SourceCount]) -> CardRecord:
    """To ops, when a window that went over the limit closes: how many dead letters were
    held back, from where, and the latest reason of each source."""
    rows = [f"- {c.source} × {c.count}，最近 #{c.last_id}：{_short(mask_text(c.last_reason), 80)}"
            for c in sources[:MAX_LINES]]
    if len(sources) > MAX_LINES:
        rows.append(f"- …… 共 {len(sources)} 个来源")
    body = "\n".join([f"逐条通知 {singles} 条，其余 {total - singles} 条未逐条发送。按来源：",
                      *rows, "", "查看：orderbot deadletter list；修复后：orderbot deadletter "
                      "replay ID"])
    window = f"{shanghai_text(start)}–{end.astimezone(SHANGHAI):%H:%M}"
    card = Card(card_id=card_id, title=f"死信汇总：{total} 条", body=body,
                fields=(("时段", window), ("共计", str(total))), buttons=(_handled(card_id),))
    return CardRecord(card, CardKind.DEAD_LETTER, f"window:{start:%Y%m%dT%H%M%S}")


def new_order(card_id: str, order: Order) -> CardRecord:
    """A short notice that an order was stored (optional; see ``[cards] new_order``)."""
    receiver = order.receiver
    region = "".join(p for p in (receiver.province, receiver.city) if p) or "-"
    card = Card(card_id=card_id, title=f"新订单 {order.key}",
                body="\n".join(_line_rows(order)[:3]),
                fields=(("渠道", order.channel), ("实付", f"¥{fen_to_yuan(order.paid_fen)}"),
                        ("状态", label(order.status)), ("下单", shanghai_text(order.created_at)),
                        ("收件地区", region)))
    return CardRecord(card, CardKind.NEW_ORDER, order.key, order.key)


def _handled(card_id: str) -> Button:
    return Button("handled", format_payload(card_id, Verb.HANDLED), "已处理",
                  role_required=Role.OPS.value)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def suspected_duplicate(card_id: str, anomaly: Anomaly) -> CardRecord:
    """From ingestion: this order may duplicate another. "不是重复" resolves the anomaly;
    "确认重复" proposes merging it into the other order (a gated action a supervisor decides;
    a supervisor's own tap decides it: ``handlers.duplicate_actions``)."""
    other = str(anomaly.data.get("other", "-"))
    card = Card(
        card_id=card_id, title="疑似重复订单", body=anomaly.reason,
        fields=(("订单", anomaly.order_key), ("疑似重复", other),
                ("发现", shanghai_text(anomaly.opened_at))),
        buttons=(
            Button("not_duplicate", format_payload(card_id, Verb.NOT_DUPLICATE), "不是重复",
                   style="primary", role_required=Role.AGENT.value),
            Button("confirm_duplicate", format_payload(card_id, Verb.CONFIRM_DUPLICATE),
                   "确认重复", style="danger", role_required=Role.AGENT.value),
        ),
    )
    return CardRecord(card, CardKind.SUSPECTED_DUPLICATE, str(anomaly.id), anomaly.order_key)
