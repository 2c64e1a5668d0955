"""淘宝/天猫 TOP payloads -> canonical ``Order``.

Shapes accepted (field names from the TOP API docs / generated TOP SDK models, see
tests/data/channels/taobao/SOURCES.md):

* list responses ``{"trades_sold_get_response"|"trades_sold_increment_get_response"|
  "trades_sold_incrementv_get_response": {"trades": {"trade": [...]}, "total_results": n}}``
  (``simplify=true`` drops the inner ``{"trade": ...}`` wrapper: both are read);
* detail responses ``{"trade_fullinfo_get_response"|"trade_get_response": {"trade": {...}}}``;
* a bare ``Trade`` object (what a push body or our own poller hands over);
* ``{"error_response": {...}}`` is refused with the platform's code and message.

Money is yuan strings ("200.07"), times "yyyy-MM-dd HH:mm:ss" Beijing time. Receiver fields may
be masked (``张**``) or TOP ciphertext; they are kept exactly as received.

Waybills: TOP puts them on each sub-order (``Order.invoice_no`` 子订单所在包裹的运单号,
``Order.logistics_company`` 子订单发货的快递公司名称), so a trade shipped in several parcels
(``SELLER_CONSIGNED_PART``, split shipping) carries each parcel's number on its lines; the
trade itself has no waybill field (``out_sid``/``company_code`` belong to the logistics APIs).
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
    optional_shanghai_time,
    positive_int,
    shanghai_time,
    text,
    yuan,
)
from integrations.channels.shipments import shipment, unique
from integrations.channels.taobao.statuses import (
    DEPOSIT_PAID_STEP,
    REFUND_IN_PROGRESS,
    STEP_STATUSES,
    statuses,
)

CHANNEL = "taobao"
LIST_ENVELOPES = (
    "trades_sold_get_response",
    "trades_sold_increment_get_response",
    "trades_sold_incrementv_get_response",
)
DETAIL_ENVELOPES = ("trade_fullinfo_get_response", "trade_get_response")
# States in which a refund request turns the order into after-sale (paid and not closed).
_REFUNDABLE = frozenset({
    OrderState.PAID, OrderState.LABEL_PRINTED, OrderState.DELIVERED, OrderState.COMPLETED,
})  # fmt: skip


def parse(payload: Any) -> list[Order]:
    """Every trade in a TOP response, push body or bare trade, as canonical orders."""
    doc = obj(load_json(payload), "$")
    return [map_trade(trade, path) for trade, path in _trades(doc)]



def parse_push(request: WebhookRequest, secret: str) -> PushContent:
    """A verified push body carries whole orders (a response or a bare order object)."""
    return PushContent(orders=tuple(parse(request.body)))

def _trades(doc: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    if "error_response" in doc:
        err = obj(doc["error_response"], "$.error_response")
        raise ChannelPayloadError(
            f"$.error_response: TOP error {err.get('code')} {err.get('msg')} "
            f"{err.get('sub_code') or ''} {err.get('sub_msg') or ''}".rstrip()
        )
    for key in LIST_ENVELOPES:
        if key in doc:
            return _list_trades(obj(doc[key], f"$.{key}"), f"$.{key}")
    for key in DETAIL_ENVELOPES:
        if key in doc:
            body = obj(doc[key], f"$.{key}")
            return [(obj(body.get("trade"), f"$.{key}.trade"), f"$.{key}.trade")]
    if "tid" in doc or "tid_str" in doc:
        return [(doc, "$")]
    raise ChannelPayloadError("$: not a TOP trade response, push body or Trade object")


def _list_trades(body: Mapping[str, Any], path: str) -> list[tuple[Mapping[str, Any], str]]:
    if "trades" not in body:  # an empty page omits "trades" entirely
        return []
    items, items_path = unwrap(body["trades"], "trade", f"{path}.trades")
    return [(obj(t, f"{items_path}[{i}]"), f"{items_path}[{i}]") for i, t in enumerate(items)]


def unwrap(value: object, inner: str, path: str) -> tuple[list[Any], str]:
    """TOP JSON wraps lists as ``{"trade": [...]}``; ``simplify=true`` gives the bare list."""
    if isinstance(value, Mapping):
        return arr(value.get(inner, []), f"{path}.{inner}"), f"{path}.{inner}"
    return arr(value, path), path


def map_trade(trade: Mapping[str, Any], path: str = "$") -> Order:
    """One TOP ``Trade`` -> ``Order``."""
    tid = ident(trade.get("tid", trade.get("tid_str")), f"{path}.tid")
    lines_raw, lines_path = unwrap(trade.get("orders", []), "order", f"{path}.orders")
    lines = tuple(_line(obj(o, f"{lines_path}[{i}]"), f"{lines_path}[{i}]")
                  for i, o in enumerate(lines_raw))
    state = _state(trade, lines_raw, path)
    return Order(
        channel=CHANNEL,
        channel_order_id=tid,
        status=state,
        channel_status=text(trade.get("status"), f"{path}.status"),
        buyer_id=text(trade.get("buyer_open_uid") or trade.get("buyer_nick"),
                      f"{path}.buyer_open_uid"),
        receiver=_receiver(trade, path),
        lines=lines,
        total_fen=yuan(trade.get("total_fee"), f"{path}.total_fee"),
        paid_fen=_paid_fen(trade, state, path),
        freight_fen=yuan(trade.get("post_fee"), f"{path}.post_fee"),
        created_at=shanghai_time(trade.get("created"), f"{path}.created"),
        paid_at=optional_shanghai_time(trade.get("pay_time"), f"{path}.pay_time"),
        presale=_step_status(trade, path) is not None,
        remark=text(trade.get("buyer_message"), f"{path}.buyer_message"),
        invoice=_invoice(trade, path),
        shipments=unique(_shipment(obj(o, f"{lines_path}[{i}]"), f"{lines_path}[{i}]", tid)
                         for i, o in enumerate(lines_raw)),
    )


def _shipment(order: Mapping[str, Any], path: str, tid: str) -> Shipment | None:
    return shipment(text(order.get("invoice_no"), f"{path}.invoice_no"),
                    [text(order.get("logistics_company"), f"{path}.logistics_company")],
                    where=f"{CHANNEL}:{tid} {path}")


def _step_status(trade: Mapping[str, Any], path: str) -> str | None:
    step = text(trade.get("step_trade_status"), f"{path}.step_trade_status")
    if step is not None and step not in STEP_STATUSES:
        raise UnknownStatusError("taobao.step_trade_status", step)
    return step


def _state(trade: Mapping[str, Any], lines: list[Any], path: str) -> OrderState:
    if trade.get("status") in (None, ""):
        raise ChannelPayloadError(f"{path}.status: missing")
    state = statuses.map(trade["status"])
    if state is OrderState.PENDING_PAYMENT and _step_status(trade, path) == DEPOSIT_PAID_STEP:
        return OrderState.DEPOSIT_PAID
    if state in _REFUNDABLE and any(_refunding(line) for line in lines):
        return OrderState.AFTER_SALE
    return state


def _refunding(line: object) -> bool:
    status = line.get("refund_status") if isinstance(line, Mapping) else None
    if status in (None, ""):
        return False
    if status not in REFUND_IN_PROGRESS:
        raise UnknownStatusError("taobao.refund_status", str(status))
    return REFUND_IN_PROGRESS[status]


def _paid_fen(trade: Mapping[str, Any], state: OrderState, path: str) -> int:
    """What the buyer has actually paid so far: nothing before payment, the deposit
    (``step_paid_fee``) while a presale balance is due, else ``payment`` (实付金额)."""
    if state is OrderState.PENDING_PAYMENT or state is OrderState.CANCELLED:
        return 0
    if state is OrderState.DEPOSIT_PAID:
        return yuan(trade.get("step_paid_fee"), f"{path}.step_paid_fee")
    return yuan(trade.get("payment"), f"{path}.payment")


def _line(order: Mapping[str, Any], path: str) -> OrderLine:
    sku_id = text(order.get("sku_id"), f"{path}.sku_id")
    own = text(order.get("outer_sku_id"), f"{path}.outer_sku_id") or text(
        order.get("outer_iid"), f"{path}.outer_iid")
    item = text(order.get("num_iid"), f"{path}.num_iid")
    sku = own or sku_id or item
    if sku is None:
        raise ChannelPayloadError(f"{path}: no outer_sku_id, outer_iid, sku_id or num_iid")
    paid = order.get("divide_order_fee") or order.get("payment")
    return OrderLine(
        sku=sku,
        channel_sku_id=sku_id,
        title=text(order.get("title"), f"{path}.title") or "",
        quantity=positive_int(order.get("num"), f"{path}.num"),
        unit_price_fen=yuan(order.get("price"), f"{path}.price"),
        paid_fen=yuan(paid, f"{path}.payment"),
    )


def _receiver(trade: Mapping[str, Any], path: str) -> Receiver:
    city = text(trade.get("receiver_city"), f"{path}.receiver_city")
    district = text(trade.get("receiver_district"), f"{path}.receiver_district")
    if city is None:  # TOP doc: 省直辖县级行政区 come only in receiver_district; use it as city
        city, district = district, None
    return Receiver(
        name=text(trade.get("receiver_name"), f"{path}.receiver_name"),
        phone=text(trade.get("receiver_mobile") or trade.get("receiver_phone"),
                   f"{path}.receiver_mobile"),
        province=text(trade.get("receiver_state"), f"{path}.receiver_state"),
        city=city,
        district=district,
        address=text(trade.get("receiver_address"), f"{path}.receiver_address"),
    )


def _invoice(trade: Mapping[str, Any], path: str) -> Invoice | None:
    """TOP ``Trade.invoice_name`` (发票抬头) is the buyer's invoice request; the trade carries
    no tax id (that comes from the e-invoice APIs), so ``tax_id`` stays unknown. A title of
    "个人" is the personal invoice, anything else names a company."""
    title = text(trade.get("invoice_name"), f"{path}.invoice_name")
    if title is None:
        return None
    kind = InvoiceKind.PERSONAL if title.strip() == "个人" else InvoiceKind.COMPANY
    return Invoice(kind=kind, title=title)
