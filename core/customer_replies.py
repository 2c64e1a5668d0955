"""What a customer reads: status in plain Chinese, the newest scan with its time, the expected
delivery (or an honest "unknown"), receiver phone and address masked.

The expected delivery rule, stated to the customer as what it is:

* delivered: when it was signed for;
* the provider gave an estimate (快递鸟 ``EstimatedDeliveryTime``): that date, as theirs;
* out for delivery with a scan today (Beijing): today;
* picked up / in transit: pick-up date + the carrier's usual 1-2 .. 2-5 days, "按揽收时间估算";
  past the latest such day: we say it is late and that we follow it up;
* no scan yet, an exception, a return, or 36 h without news: no date, and why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from core.card_views import mask_name
from core.carriers import UnknownCarrierError, carrier
from core.clock import SHANGHAI, shanghai_text
from core.customer_query import Freshness, OrderFacts, ParcelView, estimated_date
from core.masking import mask_address, mask_phone
from core.states import label as order_label
from core.tracking import TrackingState, is_overdue
from core.tracking import label as parcel_label

T = TrackingState

HELP = ("您好，我是订单助手。请发送订单号、快递单号或收件手机号查询，"
        "例如：查单 1234567890 尾号5678（收件手机后四位）。")
NEED_PROOF = ("为保护您的隐私，请同时发送收件手机号的后四位，例如：查单 1234567890 尾号5678。")
NO_MATCH = ("没有找到与这个单号和手机尾号相符的订单，请核对后再试；"
            "如需帮助，请联系人工客服。")
PHONE_NONE = "这个手机号下暂时没有可查询的订单。如是他人代下单，请发送订单号和收件手机后四位。"
RATE_LIMITED = "查询太频繁了，请稍等一分钟再试。"
SILENT_NOTE = ("物流信息已超过 36 小时没有更新，我们已请快递公司核实，有结果会第一时间告诉您。")
MAX_ORDERS = 3


def render(orders: Sequence[OrderFacts], now: datetime, freshness: Freshness | None = None
           ) -> str:
    """The answer for the orders the asker may see (newest first, at most ``MAX_ORDERS``)."""
    shown = sorted(orders, key=lambda o: o.created_at, reverse=True)[:MAX_ORDERS]
    blocks = [_order_block(order, now) for order in shown]
    if len(orders) > MAX_ORDERS:
        blocks.append(f"另有 {len(orders) - MAX_ORDERS} 个订单，请发送订单号单独查询。")
    age = freshness.age_text(now) if freshness else None
    if age:
        blocks.append(f"（快递查询暂时不可用，以上物流信息更新于 {age}。）")
    return "\n\n".join(blocks)


def _order_block(order: OrderFacts, now: datetime) -> str:
    lines = [f"订单 {order.channel_order_id}：{_status(order)}"]
    for view in order.parcels:
        lines.extend(_parcel_lines(view, now))
    if not order.parcels:
        lines.append("还没有快递单号，发货后即可查询物流。")
    lines.append(f"收件人：{_receiver(order)}")
    return "\n".join(lines)


def _status(order: OrderFacts) -> str:
    states = {view.parcel.state for view in order.parcels}
    if len(states) == 1:
        return parcel_label(next(iter(states)))
    return order_label(order.status)


def _parcel_lines(view: ParcelView, now: datetime) -> list[str]:
    parcel = view.parcel
    name, state = _carrier_name(parcel.carrier), parcel_label(parcel.state)
    lines = [f"快递：{name} {parcel.tracking_no}（{state}）"]
    if view.latest is not None:
        lines.append(f"最新：{shanghai_text(view.latest.at)} {view.latest.text}")
    else:
        lines.append("最新：暂无物流信息")
    if is_overdue(parcel, now):
        lines.append(SILENT_NOTE)
    else:
        lines.append(f"预计送达：{expected_delivery(view, now)}")
    return lines


def expected_delivery(view: ParcelView, now: datetime) -> str:
    """The honest estimate (see the module docstring)."""
    parcel = view.parcel
    if parcel.state is T.DELIVERED:
        at = parcel.delivered_at or (view.latest.at if view.latest else None)
        return f"已于 {shanghai_text(at)} 签收" if at else "已签收"
    if parcel.state in (T.EXCEPTION, T.RETURNING, T.RETURNED):
        return "暂时无法预计（快件异常，客服会尽快联系您）"
    if parcel.estimated_delivery is not None:
        return f"{estimated_date(parcel.estimated_delivery)}（快递公司预计）"
    if parcel.state is T.OUT_FOR_DELIVERY and view.latest is not None and \
            _day(view.latest.at) == _day(now):
        return "今天"
    start = view.first.at if view.first is not None else None
    if start is None or parcel.state is T.PENDING:
        return "快递揽收后才能估算"
    return _by_transit_days(parcel.carrier, start, now)


def _by_transit_days(code: str, picked_up: datetime, now: datetime) -> str:
    try:
        low, high = carrier(code).transit_days
    except UnknownCarrierError:
        return "暂时无法预计"
    first, last = _day(picked_up) + timedelta(days=low), _day(picked_up) + timedelta(days=high)
    if last < _day(now):
        return "已超过通常时效，我们正在跟进，请耐心等待"
    return (f"{estimated_date(first)}–{estimated_date(last)}（按揽收时间估算，仅供参考）"
            if first != last else f"{estimated_date(first)}（按揽收时间估算，仅供参考）")


def _day(value: datetime) -> datetime:
    local = value.astimezone(SHANGHAI)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _carrier_name(code: str) -> str:
    try:
        return carrier(code).name
    except UnknownCarrierError:
        return code


def _receiver(order: OrderFacts) -> str:
    r = order.receiver
    region = "".join(p for p in (r.province, r.city, r.district) if p)
    who = f"{mask_name(r.name)} {mask_phone(r.phone) or ''}".strip()
    return f"{who}，{region}{mask_address(r.address) or ''}".rstrip("，")
