"""微信小店 ``Order`` (``/channels/ec/order/get``) -> canonical ``Order``.

Field names follow the 微信小店 API document for 获取订单详情 (``order_id``, ``status``,
``create_time``, ``openid``, ``order_detail.product_infos[]``, ``order_detail.pay_info``,
``order_detail.price_info``, ``order_detail.delivery_info.address_info``,
``order_detail.ext_info``, ``aftersale_detail``). Money is integer fen and times are unix
seconds. ``order_id`` is a JSON number above 2^53, hence exact-integer JSON reading.

Presale: 微信小店 sells 全款预售 (full payment, later shipment), flagged per SKU as
``sku_deliver_info.stock_type`` 1; there is no deposit phase, so the state stays ``paid``.
The order detail carries no invoice request (invoices have their own API), so ``invoice`` is null.

Waybills: ``order_detail.delivery_info.delivery_product_info[]``, one item per parcel, with
``waybill_id`` (快递单号) and ``delivery_id`` (快递公司编码 as in 微信小店's company list, e.g.
``YTO``, ``ZTO``, ``SF``: the same codes ``core.carriers`` uses) and ``delivery_name`` (快递
公司名称), tried in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.order import Order, OrderLine, Receiver, Shipment
from core.states import OrderState
from integrations.channels import payload as r
from integrations.channels.shipments import shipment, unique
from integrations.channels.wechat_shop.statuses import STATUSES

CHANNEL = "wechat_shop"
_NOT_YET_PAID = {OrderState.PENDING_PAYMENT, OrderState.CANCELLED}
_FULFILMENT = {OrderState.PAID, OrderState.LABEL_PRINTED, OrderState.COMPLETED}


def map_order(doc: Mapping[str, Any], path: str) -> Order:
    """One ``order`` object -> ``Order``."""
    word = r.req(doc, "status", path)
    detail = r.obj(r.req(doc, "order_detail", path), f"{path}.order_detail")
    where = f"{path}.order_detail"
    products = r.arr(r.req(detail, "product_infos", where), f"{where}.product_infos")
    price = r.obj(detail.get("price_info") or {}, f"{where}.price_info")
    pay = r.obj(detail.get("pay_info") or {}, f"{where}.pay_info")
    status = _status(STATUSES.map(r.ident(word, f"{path}.status")), doc, path)
    created = r.unix_time(r.req(doc, "create_time", path), f"{path}.create_time")
    return Order(
        channel=CHANNEL,
        channel_order_id=r.ident(r.req(doc, "order_id", path), f"{path}.order_id"),
        status=status,
        channel_status=str(word),
        created_at=created,
        paid_at=r.optional_unix_time(pay.get("pay_time"), f"{where}.pay_info.pay_time"),
        buyer_id=r.text(doc.get("openid"), f"{path}.openid"),
        receiver=_receiver(detail.get("delivery_info"), f"{where}.delivery_info"),
        lines=tuple(_line(r.obj(p, f"{where}.product_infos[{i}]"),
                          f"{where}.product_infos[{i}]") for i, p in enumerate(products)),
        total_fen=r.fen(price.get("product_price"), f"{where}.price_info.product_price"),
        paid_fen=0 if status in _NOT_YET_PAID
        else r.fen(price.get("order_price"), f"{where}.price_info.order_price"),
        freight_fen=r.fen(price.get("freight"), f"{where}.price_info.freight"),
        presale=any(_presale(p) for p in products),
        remark=_remark(detail.get("ext_info"), f"{where}.ext_info"),
        shipments=_shipments(detail.get("delivery_info"), f"{where}.delivery_info",
                             doc.get("order_id")),
    )


def _shipments(value: object, path: str, order_id: object) -> tuple[Shipment, ...]:
    if value is None:
        return ()
    return unique(
        shipment(r.text(item.get("waybill_id"), f"{where}.waybill_id"),
                 [r.text(item.get("delivery_id"), f"{where}.delivery_id"),
                  r.text(item.get("delivery_name"), f"{where}.delivery_name")],
                 where=f"{CHANNEL}:{order_id} {where}")
        for item, where in r.items(r.obj(value, path), "delivery_product_info", path))


def _status(state: OrderState, doc: Mapping[str, Any], path: str) -> OrderState:
    """An open after-sale (``aftersale_detail.on_aftersale_order_cnt`` > 0) on a paid order is
    a refund or return in progress."""
    after = r.obj(doc.get("aftersale_detail") or {}, f"{path}.aftersale_detail")
    open_count = after.get("on_aftersale_order_cnt") or 0
    if isinstance(open_count, int) and open_count > 0 and state in _FULFILMENT:
        return OrderState.AFTER_SALE
    return state


def _line(item: Mapping[str, Any], path: str) -> OrderLine:
    """``sku_code`` is the seller's own code (商家自定义sku编码); ``real_price`` the line's paid
    total, falling back to ``sale_price × sku_cnt`` when absent."""
    sku_id = r.ident(r.req(item, "sku_id", path), f"{path}.sku_id")
    quantity = r.positive_int(r.req(item, "sku_cnt", path), f"{path}.sku_cnt")
    unit = r.fen(item.get("sale_price"), f"{path}.sale_price")
    real = item.get("real_price")
    return OrderLine(
        sku=r.text(item.get("sku_code"), f"{path}.sku_code") or sku_id,
        channel_sku_id=sku_id,
        title=r.text(item.get("title"), f"{path}.title") or "",
        quantity=quantity,
        unit_price_fen=unit,
        paid_fen=unit * quantity if real is None else r.fen(real, f"{path}.real_price"),
    )


def _presale(item: Mapping[str, Any]) -> bool:
    info = item.get("sku_deliver_info")
    return isinstance(info, Mapping) and info.get("stock_type") == 1


def _receiver(value: object, path: str) -> Receiver:
    if value is None:
        return Receiver()
    delivery = r.obj(value, path)
    if delivery.get("address_info") is None:
        return Receiver()
    a = r.obj(delivery["address_info"], f"{path}.address_info")
    where = f"{path}.address_info"
    return Receiver(
        name=r.text(a.get("user_name"), f"{where}.user_name"),
        phone=r.text(a.get("tel_number"), f"{where}.tel_number"),
        province=r.text(a.get("province_name"), f"{where}.province_name"),
        city=r.text(a.get("city_name"), f"{where}.city_name"),
        district=r.text(a.get("county_name"), f"{where}.county_name"),
        address=r.text(a.get("detail_info"), f"{where}.detail_info"),
    )


def _remark(value: object, path: str) -> str | None:
    if value is None:
        return None
    return r.text(r.obj(value, path).get("customer_notes"), f"{path}.customer_notes")
