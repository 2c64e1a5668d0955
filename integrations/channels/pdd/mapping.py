"""拼多多 POP payloads -> canonical ``Order``.

Shapes accepted (POP API docs; field names as in the generated SDK ``lywzx/pdd-node-sdk``):

* detail ``{"order_info_get_response": {"order_info": {...}}}`` (pdd.order.information.get);
* lists ``{"order_list_get_response": {"order_list": [...], "total_count"}}`` (pdd.order.list.get)
  and ``{"order_sn_increment_get_response": {"order_sn_list": [...], "total_count",
  "has_next"}}`` (pdd.order.number.list.increment.get);
* a bare order object (``order_sn`` + ``item_list``), e.g. the body of our HTTP push;
* ``{"error_response": {...}}`` is refused with the platform's code and message.

Amounts are yuan (strings or JSON numbers), times "yyyy-MM-dd HH:mm:ss" Beijing time. The
receiver comes plain, masked (``receiver_phone`` "1387677****" outside 待发货) or encrypted
(``~...~`` ciphertext); every form is kept as received.

Waybill: ``tracking_number`` (快递运单号) with ``logistics_id`` (快递公司编号, see
``pdd/carriers.py``); one per order, as the order objects have no per-parcel list.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import UnknownStatusError
from core.order import Invoice, InvoiceKind, Order, OrderLine, Receiver, Shipment
from core.states import OrderState
from integrations.channels.base import ChannelPayloadError, PushContent, WebhookRequest
from integrations.channels.payload import (
    arr,
    ident,
    load_json,
    obj,
    optional_ident,
    optional_shanghai_time,
    positive_int,
    shanghai_time,
    text,
    yuan,
)
from integrations.channels.pdd.carriers import LOGISTICS_COMPANIES
from integrations.channels.pdd.statuses import (
    CONFIRM_STATUS,
    REFUND_STATUS,
    STEP_TRADE_STATUS,
    statuses,
)
from integrations.channels.shipments import shipment, unique

CHANNEL = "pdd"
LISTS = {"order_list_get_response": "order_list",
         "order_sn_increment_get_response": "order_sn_list"}
DETAIL = ("order_info_get_response", "order_info")


def parse(payload: Any) -> list[Order]:
    doc = obj(load_json(payload), "$")
    return [map_order(order, path) for order, path in _orders(doc)]



def parse_push(request: WebhookRequest, secret: str) -> PushContent:
    """A verified push body carries whole orders (a response or a bare order object)."""
    return PushContent(orders=tuple(parse(request.body)))

def _orders(doc: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    if "error_response" in doc:
        err = obj(doc["error_response"], "$.error_response")
        raise ChannelPayloadError(f"$.error_response: POP error {err.get('error_code')} "
                                  f"{err.get('error_msg')} {err.get('sub_msg') or ''}".rstrip())
    for envelope, key in LISTS.items():
        if envelope in doc:
            path = f"$.{envelope}.{key}"
            items = arr(obj(doc[envelope], f"$.{envelope}").get(key) or [], path)
            return [(obj(o, f"{path}[{i}]"), f"{path}[{i}]") for i, o in enumerate(items)]
    if DETAIL[0] in doc:
        path = f"$.{DETAIL[0]}.{DETAIL[1]}"
        return [(obj(obj(doc[DETAIL[0]], f"$.{DETAIL[0]}").get(DETAIL[1]), path), path)]
    if "order_sn" in doc:
        return [(doc, "$")]
    raise ChannelPayloadError("$: not a 拼多多 order response or order object")


def _lookup(table: Mapping[str, OrderState | None], value: object,
            source: str) -> OrderState | None:
    if value is None:
        return None
    try:
        return table[str(value)]
    except KeyError:
        raise UnknownStatusError(source, str(value)) from None


def _step(order: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    step = order.get("step_order_info")
    return None if step is None else obj(step, f"{path}.step_order_info")


def _state(order: Mapping[str, Any], path: str) -> OrderState:
    if order.get("order_status") is None:
        raise ChannelPayloadError(f"{path}.order_status: missing")
    base = statuses.map(order["order_status"])
    step = _step(order, path)
    overrides = (
        _lookup(CONFIRM_STATUS, order.get("confirm_status"), "pdd.confirm_status"),
        _lookup(REFUND_STATUS, order.get("refund_status"), "pdd.refund_status"),
        _lookup(STEP_TRADE_STATUS, step.get("step_trade_status"), "pdd.step_trade_status")
        if step else None,
    )
    return next((state for state in overrides if state is not None), base)


def _paid_fen(order: Mapping[str, Any], state: OrderState, path: str) -> int:
    if state in (OrderState.PENDING_PAYMENT, OrderState.CANCELLED):
        return 0
    step = _step(order, path)
    if state is OrderState.DEPOSIT_PAID and step is not None:
        return yuan(step.get("step_paid_fee"), f"{path}.step_order_info.step_paid_fee")
    return yuan(order.get("pay_amount"), f"{path}.pay_amount")


def map_order(order: Mapping[str, Any], path: str = "$") -> Order:
    state = _state(order, path)
    items = arr(order.get("item_list"), f"{path}.item_list")
    return Order(
        channel=CHANNEL,
        channel_order_id=ident(order.get("order_sn"), f"{path}.order_sn"),
        status=state,
        channel_status=text(order.get("order_status"), f"{path}.order_status"),
        buyer_id=None,  # POP order payloads carry no buyer id
        receiver=_receiver(order, path),
        lines=tuple(_line(obj(it, f"{path}.item_list[{i}]"), f"{path}.item_list[{i}]")
                    for i, it in enumerate(items)),
        total_fen=yuan(order.get("goods_amount"), f"{path}.goods_amount"),
        paid_fen=_paid_fen(order, state, path),
        freight_fen=yuan(order.get("postage"), f"{path}.postage"),
        created_at=shanghai_time(order.get("created_time"), f"{path}.created_time"),
        paid_at=optional_shanghai_time(order.get("pay_time"), f"{path}.pay_time"),
        presale=order.get("is_pre_sale") == 1 or order.get("trade_type") == 1
        or _step(order, path) is not None,
        remark=text(order.get("buyer_memo"), f"{path}.buyer_memo"),
        invoice=_invoice(order, path),
        shipments=unique([_shipment(order, path)]),
    )


def _shipment(order: Mapping[str, Any], path: str) -> Shipment | None:
    company = optional_ident(order.get("logistics_id"), f"{path}.logistics_id")
    number = text(order.get("tracking_number"), f"{path}.tracking_number")
    return shipment(number, [LOGISTICS_COMPANIES.get(company or "")],
                    where=f"{CHANNEL}:{order.get('order_sn')} {path} logistics_id={company}",
                    carrier_id=company)


def _line(item: Mapping[str, Any], path: str) -> OrderLine:
    sku_id = optional_ident(item.get("sku_id"), f"{path}.sku_id")
    own = text(item.get("outer_id"), f"{path}.outer_id")
    code = own or sku_id
    if code is None:
        raise ChannelPayloadError(f"{path}: no outer_id or sku_id")
    count = positive_int(item.get("goods_count"), f"{path}.goods_count")
    price = yuan(item.get("goods_price"), f"{path}.goods_price")
    return OrderLine(
        sku=code,
        channel_sku_id=sku_id,
        title=text(item.get("goods_name"), f"{path}.goods_name") or "",
        quantity=count,
        unit_price_fen=price,
        # item_list has no per-line paid amount: the order-level discount is not split.
        paid_fen=price * count,
    )


def _receiver(order: Mapping[str, Any], path: str) -> Receiver:
    return Receiver(
        name=text(order.get("receiver_name"), f"{path}.receiver_name"),
        phone=text(order.get("receiver_phone"), f"{path}.receiver_phone"),
        province=text(order.get("province"), f"{path}.province"),
        city=text(order.get("city"), f"{path}.city"),
        district=text(order.get("town"), f"{path}.town"),
        # receiver_address is the street address without 省市区 (doc: "不拼接省市区")
        address=text(order.get("receiver_address") or order.get("address"),
                     f"{path}.receiver_address"),
    )


def _invoice(order: Mapping[str, Any], path: str) -> Invoice | None:
    """``invoice_status`` 1 = the buyer asked for an invoice. Title and tax id are not in the
    order (POP invoice APIs give them), so the request is recorded with unknown details; the
    kind defaults to personal until the invoice application says otherwise."""
    status = order.get("invoice_status")
    if status in (None, 0):
        return None
    if status != 1:
        raise UnknownStatusError("pdd.invoice_status", str(status))
    return Invoice(kind=InvoiceKind.PERSONAL)
