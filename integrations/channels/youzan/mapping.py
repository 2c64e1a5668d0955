"""有赞 ``full_order_info`` -> canonical ``Order``.

Field names follow the 有赞云 trade documents for ``youzan.trade.get`` 4.0 and
``youzan.trades.sold.get`` 4.0 (``order_info``, ``buyer_info``, ``address_info``, ``remark_info``,
``pay_info``, ``orders[]``), cross-checked with the official Java SDK model
``YouzanTradeGetResult.StructurizationTradeOrderInfo``. Money is yuan strings, times are
"YYYY-MM-DD HH:MM:SS" Beijing time. Receiver fields may arrive encrypted (``$...$1$``); they are
kept exactly as sent.

Waybills are not in ``full_order_info`` but beside it, in the ``youzan.trade.get`` ``data``
(and in a push ``msg``, which is that object): ``delivery_order[]`` (one per 发货单, with the
``oids`` it ships) whose ``dists[].express_info`` holds ``express_no`` (快递单号) and
``express_id`` (物流公司编号, see ``youzan/carriers.py``); ``express_no`` is "" for 无需物流
deliveries. The list response (``youzan.trades.sold.get``) has no delivery orders, so orders
read from it carry no shipments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.order import Invoice, InvoiceKind, Order, OrderLine, Receiver, Shipment
from core.states import OrderState
from integrations.channels import payload as r
from integrations.channels.base import ChannelPayloadError
from integrations.channels.shipments import shipment, unique
from integrations.channels.youzan.carriers import EXPRESS_COMPANIES
from integrations.channels.youzan.statuses import STATUSES

CHANNEL = "youzan"
# order_info.refund_state: 0 未退款, 1 部分退款中, 2 部分退款成功, 11 全额退款中, 12 全额退款成功
_REFUNDING = {1, 11}
_REFUNDED = 12
_BEFORE_PAYMENT = {OrderState.PENDING_PAYMENT, OrderState.CANCELLED}


def map_order(info: Mapping[str, Any], path: str = "full_order_info", *,
              delivery: object = None, delivery_path: str = "delivery_order") -> Order:
    """One ``full_order_info`` object -> ``Order``; ``delivery`` is the ``delivery_order``
    list beside it, when the payload has one."""
    order_info = r.obj(r.req(info, "order_info", path), f"{path}.order_info")
    pay = r.obj(info.get("pay_info") or {}, f"{path}.pay_info")
    where = f"{path}.order_info"
    channel_status = str(r.req(order_info, "status", where))
    presale, deposit_fen = _presale(pay, f"{path}.pay_info")
    status = _status(order_info, channel_status, presale, deposit_fen, where)
    paid_at = r.optional_shanghai_time(order_info.get("pay_time"), f"{where}.pay_time")
    return Order(
        channel=CHANNEL,
        channel_order_id=r.ident(r.req(order_info, "tid", where), f"{where}.tid"),
        status=status,
        channel_status=channel_status,
        created_at=r.shanghai_time(r.req(order_info, "created", where), f"{where}.created"),
        paid_at=paid_at,
        buyer_id=_buyer(info.get("buyer_info"), f"{path}.buyer_info"),
        receiver=_receiver(info.get("address_info"), f"{path}.address_info"),
        lines=_lines(r.arr(r.req(info, "orders", path), f"{path}.orders"), f"{path}.orders"),
        total_fen=r.yuan(pay.get("total_fee"), f"{path}.pay_info.total_fee"),
        paid_fen=_paid(status, pay, deposit_fen, path),
        freight_fen=r.yuan(pay.get("post_fee"), f"{path}.pay_info.post_fee"),
        presale=presale,
        remark=_remark(info.get("remark_info"), f"{path}.remark_info"),
        invoice=_invoice(order_info.get("order_extra"), f"{where}.order_extra"),
        shipments=_shipments(delivery, delivery_path, order_info.get("tid")),
    )


def _shipments(delivery: object, path: str, tid: object) -> tuple[Shipment, ...]:
    found: list[Shipment | None] = []
    for i, order in enumerate(r.arr(delivery or [], path)):
        for dist, where in r.items(r.obj(order, f"{path}[{i}]"), "dists", f"{path}[{i}]"):
            info = r.obj(dist.get("express_info") or {}, f"{where}.express_info")
            company = r.optional_ident(info.get("express_id"), f"{where}.express_info.express_id")
            number = r.text(info.get("express_no"), f"{where}.express_info.express_no")
            found.append(shipment(
                number, [EXPRESS_COMPANIES.get(company or "")],
                where=f"{CHANNEL}:{tid} {where} express_id={company}", carrier_id=company))
    return unique(found)


def _status(order_info: Mapping[str, Any], word: str, presale: bool, deposit_fen: int | None,
            where: str) -> OrderState:
    """The table's state, refined by presale deposit and refund_state (why: 有赞 keeps the trade
    status at WAIT_BUYER_PAY while a presale balance is due, and reports refunds separately)."""
    state = STATUSES.map(word)
    refund_state = order_info.get("refund_state") or 0
    if presale and state is OrderState.PENDING_PAYMENT and deposit_fen is not None:
        return OrderState.DEPOSIT_PAID
    if state is OrderState.CANCELLED and refund_state == _REFUNDED:
        return OrderState.REFUNDED
    if refund_state in _REFUNDING and state not in _BEFORE_PAYMENT:
        return OrderState.AFTER_SALE
    return state


def _presale(pay: Mapping[str, Any], path: str) -> tuple[bool, int | None]:
    """``pay_info.phase_payments`` lists the deposit/balance phases of a 定金预售 trade.

    Returns (is presale, deposit paid in fen or None). A phase counts as paid once it carries
    the payment's ``outer_transaction_no``.
    """
    phases = r.arr(pay.get("phase_payments") or [], f"{path}.phase_payments")
    if not phases:
        return False, None
    for i, item in enumerate(phases):
        phase = r.obj(item, f"{path}.phase_payments[{i}]")
        if phase.get("phase") == 1 and phase.get("outer_transaction_no"):
            return True, r.yuan(phase.get("real_price"),
                                f"{path}.phase_payments[{i}].real_price")
    return True, None


def _paid(status: OrderState, pay: Mapping[str, Any], deposit_fen: int | None,
          path: str) -> int:
    if status is OrderState.DEPOSIT_PAID:
        return deposit_fen or 0
    if status in _BEFORE_PAYMENT:
        return 0
    return r.yuan(pay.get("payment"), f"{path}.pay_info.payment")


def _buyer(value: object, path: str) -> str | None:
    if value is None:
        return None
    buyer = r.obj(value, path)
    open_id = r.text(buyer.get("yz_open_id"), f"{path}.yz_open_id")
    if open_id:
        return open_id
    raw = buyer.get("buyer_id")
    return r.ident(raw, f"{path}.buyer_id") if raw not in (None, 0, "") else None


def _receiver(value: object, path: str) -> Receiver:
    if value is None:
        return Receiver()
    a = r.obj(value, path)
    return Receiver(
        name=r.text(a.get("receiver_name"), f"{path}.receiver_name"),
        phone=r.text(a.get("receiver_tel"), f"{path}.receiver_tel"),
        province=r.text(a.get("delivery_province"), f"{path}.delivery_province"),
        city=r.text(a.get("delivery_city"), f"{path}.delivery_city"),
        district=r.text(a.get("delivery_district"), f"{path}.delivery_district"),
        address=r.text(a.get("delivery_address"), f"{path}.delivery_address"),
    )


def _lines(items: list[Any], path: str) -> tuple[OrderLine, ...]:
    return tuple(_line(r.obj(item, f"{path}[{i}]"), f"{path}[{i}]")
                 for i, item in enumerate(items))


def _line(item: Mapping[str, Any], path: str) -> OrderLine:
    """One ``orders[]`` entry. Without specs ``sku_id`` is 0, so the item id stands in."""
    sku_id = item.get("sku_id")
    platform_id = sku_id if sku_id not in (None, 0, "0", "") else item.get("item_id")
    channel_sku = r.ident(platform_id, f"{path}.sku_id") if platform_id is not None else None
    own = r.text(item.get("outer_sku_id"), f"{path}.outer_sku_id") or r.text(
        item.get("outer_item_id"), f"{path}.outer_item_id")
    sku = own or channel_sku
    if sku is None:
        raise ChannelPayloadError(f"{path}.sku_id: missing (and no outer_sku_id)")
    return OrderLine(
        sku=sku,
        channel_sku_id=channel_sku,
        title=r.text(item.get("title"), f"{path}.title") or "",
        quantity=r.positive_int(r.req(item, "num", path), f"{path}.num"),
        unit_price_fen=r.yuan(item.get("price"), f"{path}.price"),
        paid_fen=r.yuan(item.get("payment"), f"{path}.payment"),
    )


def _remark(value: object, path: str) -> str | None:
    if value is None:
        return None
    return r.text(r.obj(value, path).get("buyer_message"), f"{path}.buyer_message")


def _invoice(value: object, path: str) -> Invoice | None:
    """``order_extra.invoice_title`` (发票抬头) is the documented invoice request; "个人" or a
    missing tax number means a personal invoice."""
    if value is None:
        return None
    extra = r.obj(value, path)
    title = r.text(extra.get("invoice_title"), f"{path}.invoice_title")
    if title is None:
        return None
    kind = InvoiceKind.PERSONAL if title == "个人" else InvoiceKind.COMPANY
    return Invoice(kind=kind, title=title)
