"""抖店 payloads -> canonical ``Order``.

Shapes accepted (抖店开放平台 docs of order.searchList / order.orderDetail; field names as in the
generated SDK models, see tests/data/channels/douyin/SOURCES.md):

* list ``{"code": 10000, "msg": "success", "data": {"shop_order_list": [...], "page", "size",
  "total"}, "log_id", "sub_code", "sub_msg"}``;
* detail ``{"code": 10000, "data": {"shop_order_detail": {...}}}``;
* a bare shop order (``order_id`` + ``sku_order_list``).

A message-push body (a JSON array of ``{"tag", "msg_id", "data"}``) carries only ids and a
status, never the order, so ``parse`` refuses it with a clear reason; ``parse_push`` gives
the ids to fetch with order.orderDetail (``api.fetch_orders``) instead. Amounts are integer
fen, times unix seconds.

Waybills: the shop order's ``logistics_info[]`` (one item per parcel: ``tracking_no`` 物流单号,
``company`` 物流公司 code, ``company_name`` 物流公司名称, ``ship_time``, ``delivery_id`` 包裹id);
the carrier is named from ``company`` or, failing that, ``company_name`` (whichever
``core.carriers`` knows).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.errors import UnknownStatusError
from core.order import Order, OrderLine, Receiver, Shipment
from core.privacy import is_protected
from core.states import OrderState
from integrations.channels.base import ChannelPayloadError, PushContent, WebhookRequest
from integrations.channels.douyin.statuses import (
    AFTER_SALE_OPEN,
    PRESALE_TRADE_TYPE,
    REFUNDED_MAIN_STATUS,
    statuses,
)
from integrations.channels.payload import (
    arr,
    fen,
    ident,
    items,
    load_json,
    obj,
    optional_ident,
    optional_unix_time,
    positive_int,
    text,
    unix_time,
)
from integrations.channels.shipments import shipment, unique

CHANNEL = "douyin"
SUCCESS = 10000
_AFTER_SALE_FROM = frozenset({
    OrderState.PAID, OrderState.LABEL_PRINTED, OrderState.COMPLETED,
})  # fmt: skip


def parse(payload: Any) -> list[Order]:
    doc = load_json(payload)
    if isinstance(doc, list):
        raise ChannelPayloadError("$: a 抖店 push message carries only order ids; parse_push() "
                                  "gives them to fetch with order.orderDetail")
    return [map_order(order, path) for order, path in _orders(obj(doc, "$"))]


def parse_push(request: WebhookRequest, secret: str) -> PushContent:
    """The shop order ids (``p_id``, exact, each once) a message-push body names."""
    messages = arr(load_json(request.body), "$")
    ids = []
    for i, message in enumerate(messages):
        data = load_json(obj(message, f"$[{i}]").get("data"))
        ids.append(ident(obj(data, f"$[{i}].data").get("p_id"), f"$[{i}].data.p_id"))
    return PushContent(order_ids=tuple(dict.fromkeys(ids)))


def _orders(doc: Mapping[str, Any]) -> list[tuple[Mapping[str, Any], str]]:
    if "code" in doc:
        if doc["code"] != SUCCESS:
            raise ChannelPayloadError(f"$.code: 抖店 error {doc['code']} {doc.get('msg')} "
                                      f"{doc.get('sub_code') or ''} {doc.get('sub_msg') or ''}"
                                      .rstrip())
        data = obj(doc.get("data"), "$.data")
        if "shop_order_detail" in data:
            return [(obj(data["shop_order_detail"], "$.data.shop_order_detail"),
                     "$.data.shop_order_detail")]
        items = arr(data.get("shop_order_list", []), "$.data.shop_order_list")
        return [(obj(o, f"$.data.shop_order_list[{i}]"), f"$.data.shop_order_list[{i}]")
                for i, o in enumerate(items)]
    if "order_id" in doc:
        return [(doc, "$")]
    raise ChannelPayloadError("$: not a 抖店 order response or shop order object")


def map_order(order: Mapping[str, Any], path: str = "$") -> Order:
    skus = arr(order.get("sku_order_list"), f"{path}.sku_order_list")
    phases = arr(order.get("order_phase_list") or [], f"{path}.order_phase_list")
    presale = bool(phases) or any(
        isinstance(s, Mapping) and s.get("trade_type") == PRESALE_TRADE_TYPE for s in skus)
    state = _state(order, skus, phases, path)
    return Order(
        channel=CHANNEL,
        channel_order_id=ident(order.get("order_id"), f"{path}.order_id"),
        status=state,
        channel_status=text(order.get("order_status"), f"{path}.order_status"),
        buyer_id=text(order.get("doudian_open_id"), f"{path}.doudian_open_id"),
        receiver=_receiver(order, path),
        lines=tuple(_line(obj(s, f"{path}.sku_order_list[{i}]"), f"{path}.sku_order_list[{i}]")
                    for i, s in enumerate(skus)),
        total_fen=fen(order.get("order_amount"), f"{path}.order_amount"),
        paid_fen=_paid_fen(order, state, phases, path),
        freight_fen=fen(order.get("post_amount"), f"{path}.post_amount"),
        created_at=unix_time(order.get("create_time"), f"{path}.create_time"),
        paid_at=optional_unix_time(order.get("pay_time"), f"{path}.pay_time"),
        presale=presale,
        remark=text(order.get("buyer_words"), f"{path}.buyer_words"),
        invoice=None,  # 抖店 order payloads carry no invoice request (see order.invoiceList)
        shipments=_shipments(order, path),
    )


def _shipments(order: Mapping[str, Any], path: str) -> tuple[Shipment, ...]:
    key = f"{CHANNEL}:{order.get('order_id')}"
    return unique(
        shipment(text(item.get("tracking_no"), f"{where}.tracking_no"),
                 [text(item.get("company"), f"{where}.company"),
                  text(item.get("company_name"), f"{where}.company_name")],
                 where=f"{key} {where}")
        for item, where in items(order, "logistics_info", path))


def _paid_phases(phases: list[Any]) -> list[Mapping[str, Any]]:
    return [p for p in phases if isinstance(p, Mapping) and p.get("pay_success") is True]


def _state(order: Mapping[str, Any], skus: list[Any], phases: list[Any],
           path: str) -> OrderState:
    if order.get("order_status") is None:
        raise ChannelPayloadError(f"{path}.order_status: missing")
    state = statuses.map(order["order_status"])
    paid = _paid_phases(phases)
    if state is OrderState.PENDING_PAYMENT and paid and len(paid) < len(phases):
        return OrderState.DEPOSIT_PAID
    if state is OrderState.CANCELLED and str(order.get("main_status")) in REFUNDED_MAIN_STATUS:
        return OrderState.REFUNDED
    if state in _AFTER_SALE_FROM and any(_after_sale_open(s) for s in skus):
        return OrderState.AFTER_SALE
    return state


def _after_sale_open(sku: object) -> bool:
    info = sku.get("after_sale_info") if isinstance(sku, Mapping) else None
    status = info.get("after_sale_status") if isinstance(info, Mapping) else None
    if status is None:
        return False
    if str(status) not in AFTER_SALE_OPEN:
        raise UnknownStatusError("douyin.after_sale_status", str(status))
    return AFTER_SALE_OPEN[str(status)]


def _paid_fen(order: Mapping[str, Any], state: OrderState, phases: list[Any],
              path: str) -> int:
    if state is OrderState.DEPOSIT_PAID:
        return sum(fen(p.get("phase_pay_amount"), f"{path}.order_phase_list.phase_pay_amount")
                   for p in _paid_phases(phases))
    if optional_unix_time(order.get("pay_time"), f"{path}.pay_time") is None:
        return 0
    return fen(order.get("pay_amount"), f"{path}.pay_amount")


def _line(sku: Mapping[str, Any], path: str) -> OrderLine:
    sku_id = optional_ident(sku.get("sku_id"), f"{path}.sku_id")
    own = text(sku.get("out_sku_id"), f"{path}.out_sku_id") or text(sku.get("code"),
                                                                     f"{path}.code")
    code = own or sku_id
    if code is None:
        raise ChannelPayloadError(f"{path}: no out_sku_id, code or sku_id")
    return OrderLine(
        sku=code,
        channel_sku_id=sku_id,
        title=text(sku.get("product_name"), f"{path}.product_name") or "",
        quantity=positive_int(sku.get("item_num"), f"{path}.item_num"),
        unit_price_fen=fen(sku.get("origin_amount"), f"{path}.origin_amount"),
        paid_fen=fen(sku.get("pay_amount"), f"{path}.pay_amount"),
    )


def _place(addr: Mapping[str, Any], key: str, path: str) -> str | None:
    part = addr.get(key)
    return text(part.get("name"), f"{path}.{key}.name") if isinstance(part, Mapping) else None


def _receiver(order: Mapping[str, Any], path: str) -> Receiver:
    """Plain, encrypted (``#...#``) or masked values, kept exactly as received."""
    addr = obj(order.get("post_addr") or order.get("mask_post_addr") or {}, f"{path}.post_addr")
    detail = text(addr.get("detail") or addr.get("encrypt_detail"), f"{path}.post_addr.detail")
    street = _place(addr, "street", f"{path}.post_addr")
    if street and detail and not is_protected(detail):
        detail = street + detail
    return Receiver(
        name=text(order.get("post_receiver") or order.get("encrypt_post_receiver")
                  or order.get("mask_post_receiver"), f"{path}.post_receiver"),
        phone=text(order.get("post_tel") or order.get("encrypt_post_tel")
                   or order.get("mask_post_tel"), f"{path}.post_tel"),
        province=_place(addr, "province", f"{path}.post_addr"),
        city=_place(addr, "city", f"{path}.post_addr"),
        district=_place(addr, "town", f"{path}.post_addr"),
        address=detail,
    )
