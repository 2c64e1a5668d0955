"""Anomaly cards (异常): what the owning role, and after a missed SLA the next role, reads.

One view for the three classes, differing in the buttons: A has "已补录" (the bot then asks for
the value), B has the suggested action ("替换为 X" per in-stock substitute, else "已处理"), C has
none (the order is frozen; releasing it is a gated action decided on its own card). Evidence
(links, attachments named in the anomaly's data) is listed on C cards. Personal data is masked
as on every card. Pure: the handlers store and send what these return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.anomalies import Anomaly, AnomalyClass, AnomalyCode
from core.cards import CardKind, CardRecord, Verb
from core.chat import Button, Card, format_payload
from core.clock import SHANGHAI, shanghai_text
from core.people import ROLE_LABELS, Role
from core.routing import RouteRule
from core.states import OrderState, label

C = AnomalyCode
TITLES: Mapping[AnomalyCode, str] = {
    C.ADDRESS_MISSING: "收货地址缺失", C.ADDRESS_AMBIGUOUS: "收货地址有歧义",
    C.PHONE_INVALID: "手机号无效", C.TAX_ID_INVALID: "税号无效",
    C.INVOICE_TITLE_MISSING: "发票抬头缺失",
    C.CUSTOM_SPEC_INCOMPLETE: "定制规格不完整", C.OUT_OF_STOCK_SUBSTITUTE: "缺货（有替代品）",
    C.SUSPECTED_DUPLICATE: "疑似重复订单", C.PRICE_MISMATCH: "价格不符", C.NO_CARRIER: "无可用快递",
    C.LOW_CREDIT: "客户信用低", C.CUSTOM_SPEC_CONFLICT: "定制图纸与工艺冲突",
    C.CUSTOMS_REJECTED: "清关被拒", C.PRESALE_BALANCE_STUCK: "预售尾款未付",
    C.ORDER_STALLED: "订单停滞",
}  # fmt: skip
CLASS_LABELS: Mapping[AnomalyClass, str] = {
    AnomalyClass.A: "A 待补录", AnomalyClass.B: "B 待决策", AnomalyClass.C: "C 已冻结"}

# What the "已补录" reply fixes, per A code.
FIX_FIELDS: Mapping[AnomalyCode, str] = {
    C.ADDRESS_MISSING: "address", C.ADDRESS_AMBIGUOUS: "address", C.PHONE_INVALID: "phone",
    C.TAX_ID_INVALID: "tax_id", C.INVOICE_TITLE_MISSING: "invoice_title",
    C.CUSTOM_SPEC_INCOMPLETE: "spec",
}
SUB_VERBS = (Verb.SUB_0, Verb.SUB_1, Verb.SUB_2)
NEWS_MARK = "【渠道】"
CARRIER_MARK = "【快递】"
NEWS_MARKS = (NEWS_MARK, CARRIER_MARK)  # one line of each on a card, the latest
MAX_EVIDENCE = 5


def anomaly_card(card_id: str, anomaly: Anomaly, rule: RouteRule, *, role: Role,
                 due_at: datetime | None, escalated_from: Role | None = None) -> CardRecord:
    """The card for whoever holds ``anomaly`` at ``role`` (the owner, or an escalation)."""
    klass = anomaly.klass
    title = f"[{klass.value}] {TITLES[anomaly.code]}"
    fields: list[tuple[str, str]] = [("订单", anomaly.order_key), ("类别", CLASS_LABELS[klass]),
                                     ("负责", ROLE_LABELS[role]),
                                     ("发现", shanghai_text(anomaly.opened_at))]
    if anomaly.blocking:
        fields.append(("处理前", "订单已冻结，不会继续流转" if klass is AnomalyClass.C
                       else "订单暂停流转"))
    if due_at is not None:
        fields.append(("时限", f"{shanghai_text(due_at)} 前未处理将升级"))
    if escalated_from is not None:
        fields.append(("升级", f"{ROLE_LABELS[escalated_from]}超时未处理，已升级给您"))
        title = "【升级】" + title
    body = "\n".join([anomaly.reason, *_evidence(anomaly)])
    card = Card(card_id=card_id, title=title, body=body, fields=tuple(fields),
                buttons=_buttons(card_id, anomaly))
    return CardRecord(card, CardKind.ANOMALY, str(anomaly.id), anomaly.order_key)


def _buttons(card_id: str, anomaly: Anomaly) -> tuple[Button, ...]:
    if anomaly.klass is AnomalyClass.A:
        return (Button("fix", format_payload(card_id, Verb.FIX), "已补录", style="primary"),)
    if anomaly.klass is AnomalyClass.C:
        return ()
    subs = substitutes(anomaly)
    if anomaly.code is C.OUT_OF_STOCK_SUBSTITUTE and subs:
        return tuple(Button(verb.value, format_payload(card_id, verb), f"替换为 {sku}",
                            style="primary" if n == 0 else "default")
                     for n, (verb, sku) in enumerate(zip(SUB_VERBS, subs, strict=False)))
    return (Button("resolve", format_payload(card_id, Verb.RESOLVE), "已处理"),)


def substitutes(anomaly: Anomaly) -> list[str]:
    """The in-stock substitute SKUs the anomaly was opened with (at most three)."""
    found = anomaly.data.get("substitutes", [])
    return [str(sku) for sku in found][: len(SUB_VERBS)] if isinstance(found, list) else []


def _evidence(anomaly: Anomaly) -> list[str]:
    """Links and attachments named by whoever opened the anomaly (C: drawings, documents)."""
    items: Any = anomaly.data.get("evidence", [])
    if not isinstance(items, list) or not items:
        return []
    rows = [f"- {item}" for item in items[:MAX_EVIDENCE]]
    if len(items) > MAX_EVIDENCE:
        rows.append(f"- …… 共 {len(items)} 项")
    return ["", "证据：", *rows]


def escalated(record: CardRecord, to: Role, at: datetime) -> CardRecord:
    """The previous holder's card after escalation: same buttons (they may still act), a status
    naming who has it now, version + 1."""
    status = f"已升级给{ROLE_LABELS[to]} {at.astimezone(SHANGHAI):%H:%M}"
    return replace(record, card=replace(record.card, status=status,
                                        version=record.version + 1))


def closed(record: CardRecord, status: str, at: datetime, by: str | None) -> CardRecord:
    """Every card of a resolved anomaly: status line, no buttons, version + 1."""
    card = replace(record.card, status=status, buttons=(), version=record.version + 1)
    return replace(record, card=card, handled_by=by or record.handled_by or "system",
                   handled_at=at)


def channel_news(target: OrderState, channel_status: str | None, *, deferred: bool,
                 at: datetime) -> str:
    """The line an anomaly card gets when the channel moves its order while it is held."""
    word = f"（{channel_status}）" if channel_status else ""
    head = f"{NEWS_MARK}{at.astimezone(SHANGHAI):%m-%d %H:%M} 渠道报告「{label(target)}」{word}"
    if deferred:
        return head + "：订单冻结中未流转，解除后自动按此更新"
    return head + "：已记入订单，请留意"


def carrier_news(target: OrderState, *, carrier_name: str, tracking_no: str, frozen: bool,
                 at: datetime) -> str:
    """The line an anomaly card gets when the carrier scans its held order's parcel: the hold
    did not stop the goods, so a person must look (the status waits for the release)."""
    held = "冻结" if frozen else "暂停流转"
    when = f"{at.astimezone(SHANGHAI):%m-%d %H:%M}"
    head = f"{CARRIER_MARK}{when} {carrier_name} {tracking_no} 扫描「{label(target)}」"
    gone = "包裹已签收" if target is OrderState.DELIVERED else "包裹已被快递揽走"
    return head + f"：订单{held}中{gone}，未能拦截，请核实处理；解除后订单自动按此更新"


def with_channel_news(record: CardRecord, news: str, *, bump: bool = True) -> CardRecord:
    """The card with ``news`` (a 【渠道】 or 【快递】 line) as its last body line, replacing an
    earlier line of the same source (the latest counts), buttons and status kept, version + 1
    (``bump=False``: a card not sent yet)."""
    mark = next((m for m in NEWS_MARKS if news.startswith(m)), NEWS_MARK)
    lines = [line for line in record.card.body.split("\n") if not line.startswith(mark)]
    card = replace(record.card, body="\n".join([*lines, news]),
                   version=record.version + 1 if bump else record.version)
    return replace(record, card=card)


def news_of(record: CardRecord) -> tuple[str, ...]:
    """The card's latest 【渠道】 and 【快递】 lines, if the channel or the carrier reported
    something while it was open (an escalated copy carries them on)."""
    lines = record.card.body.split("\n")
    found = ([line for line in lines if line.startswith(mark)] for mark in NEWS_MARKS)
    return tuple(each[-1] for each in found if each)


def closing_status(person_name: str, verb_done: str, at: datetime) -> str:
    return f"已由 {person_name} {verb_done} {at.astimezone(SHANGHAI):%H:%M}"


def open_cards(records: Sequence[CardRecord]) -> list[CardRecord]:
    return [r for r in records if r.handled_by is None]
