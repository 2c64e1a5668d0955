"""A ``DemoOrder`` in each platform's own order shape, field names as the adapters document
them (``integrations/channels/<channel>/mapping.py``): yuan strings for 有赞/淘宝/京东, yuan
numbers for 拼多多, a CSV receipt for POS, "YYYY-MM-DD HH:MM:SS" Beijing times everywhere.

Only the order document is built here; ``pushes`` wraps and signs it the way each platform
delivers a push.
"""

from __future__ import annotations

import csv
import io
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.demo.generator import DemoOrder, Line, Stage
from core.clock import SHANGHAI

YOUZAN_STATUS = {Stage.DEPOSIT_PAID: "WAIT_BUYER_PAY", Stage.PAID: "WAIT_SELLER_SEND_GOODS",
                 Stage.SHIPPED: "WAIT_BUYER_CONFIRM_GOODS"}
TAOBAO_STATUS = {Stage.DEPOSIT_PAID: "WAIT_BUYER_PAY", Stage.PAID: "WAIT_SELLER_SEND_GOODS",
                 Stage.SHIPPED: "WAIT_BUYER_CONFIRM_GOODS"}
JD_STATUS = {Stage.PAID: "WAIT_SELLER_STOCK_OUT", Stage.SHIPPED: "WAIT_GOODS_RECEIVE_CONFIRM"}
PDD_STATUS = {Stage.DEPOSIT_PAID: 1, Stage.PAID: 1, Stage.SHIPPED: 2}
POS_STATUS = {Stage.DEPOSIT_PAID: "DEPOSIT", Stage.PAID: "PAID"}
POS_COLUMNS = ("receipt_no", "store_code", "created_at", "paid_at", "status", "member_id",
               "freight", "receiver_name", "receiver_phone", "province", "city", "district",
               "address", "remark", "invoice_type", "invoice_title", "invoice_tax_id", "presale",
               "deposit", "sku_code", "barcode", "title", "quantity", "unit_price", "line_amount")


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def yuan_number(fen: int) -> float:
    """拼多多 sends JSON numbers; a two-decimal float prints back exactly (39.9, 3999.0)."""
    return fen / 100


def beijing(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def platform_id(sku: str, digits: int) -> int:
    """A stable numeric platform id for one of our SKUs (the same on every push)."""
    base: int = 10 ** (digits - 1)
    return base + zlib.crc32(sku.encode()) % (9 * base)


def _region(order: DemoOrder) -> tuple[str, str, str]:
    place = order.place
    return (place.province, place.city, place.district) if place else ("", "", "")


def youzan(order: DemoOrder) -> dict[str, Any]:
    """A ``full_order_info`` object (youzan.trade.get 4.0)."""
    province, city, district = _region(order)
    info = {"tid": order.order_id, "status": YOUZAN_STATUS[order.stage], "type": 0,
            "created": beijing(order.created_at), "pay_time": beijing(order.paid_at),
            "update_time": beijing(order.updated_at), "refund_state": 0,
            "order_extra": {"invoice_title": order.invoice.title} if order.invoice else {}}
    pay: dict[str, Any] = {"total_fee": yuan(order.goods_fen), "post_fee": yuan(order.freight_fen),
                           "payment": yuan(order.payment_fen)}
    if order.presale:
        pay["phase_payments"] = _youzan_phases(order)
    return {"order_info": info,
            "buyer_info": {"yz_open_id": order.buyer_id, "buyer_phone": ""},
            "address_info": {"receiver_name": order.name, "receiver_tel": order.phone,
                             "delivery_province": province, "delivery_city": city,
                             "delivery_district": district, "delivery_address": order.street},
            "remark_info": {"buyer_message": order.remark or "", "star": 0, "trade_memo": ""},
            "pay_info": pay,
            "orders": [_youzan_line(order, n, line) for n, line in enumerate(order.lines)]}


def _youzan_phases(order: DemoOrder) -> list[dict[str, Any]]:
    balance_paid = order.stage is not Stage.DEPOSIT_PAID
    return [{"phase": 1, "real_price": yuan(order.deposit_fen),
             "outer_transaction_no": f"42000{order.order_id[-12:]}1"},
            {"phase": 2, "real_price": yuan(order.payment_fen - order.deposit_fen),
             "outer_transaction_no": f"42000{order.order_id[-12:]}2" if balance_paid else ""}]


def _youzan_line(order: DemoOrder, n: int, line: Line) -> dict[str, Any]:
    sku = line.product.sku
    return {"oid": f"{order.order_id[-12:]}{n:02d}", "item_id": platform_id(sku, 9),
            "sku_id": platform_id(sku, 8), "outer_sku_id": sku, "title": line.product.title,
            "num": line.quantity, "price": yuan(line.product.price_fen),
            "payment": yuan(line.paid_fen), "total_fee": yuan(line.goods_fen)}


def taobao(order: DemoOrder) -> dict[str, Any]:
    """A ``taobao.trade.fullinfo.get`` response (TOP ``Trade``)."""
    province, city, district = _region(order)
    trade: dict[str, Any] = {
        "tid": int(order.order_id), "tid_str": order.order_id,
        "status": TAOBAO_STATUS[order.stage], "type": "step" if order.presale else "fixed",
        "created": beijing(order.created_at), "modified": beijing(order.updated_at),
        "pay_time": beijing(order.paid_at), "total_fee": yuan(order.goods_fen),
        "payment": yuan(order.payment_fen), "post_fee": yuan(order.freight_fen),
        "discount_fee": yuan(order.discount_fen), "buyer_open_uid": order.buyer_id,
        "receiver_name": order.name, "receiver_mobile": order.phone, "receiver_state": province,
        "receiver_city": city, "receiver_district": district, "receiver_address": order.street,
        "orders": {"order": [_taobao_line(order, n, line) for n, line in enumerate(order.lines)]},
    }
    if order.remark:
        trade["buyer_message"] = order.remark
    if order.invoice:
        trade["invoice_name"] = order.invoice.title
    if order.presale:
        paid = order.stage is not Stage.DEPOSIT_PAID
        trade["step_trade_status"] = "FRONT_PAID_FINAL_PAID" if paid else "FRONT_PAID_FINAL_NOPAID"
        trade["step_paid_fee"] = yuan(order.paid_so_far_fen)
    return {"trade_fullinfo_get_response": {"trade": trade}}


def _taobao_line(order: DemoOrder, n: int, line: Line) -> dict[str, Any]:
    sku = line.product.sku
    return {"oid": int(order.order_id) + n, "num_iid": platform_id(sku.split("-")[0], 12),
            "sku_id": str(platform_id(sku, 13)), "outer_sku_id": sku,
            "title": line.product.title, "num": line.quantity,
            "price": yuan(line.product.price_fen), "payment": yuan(line.paid_fen),
            "divide_order_fee": yuan(line.paid_fen), "refund_status": "NO_REFUND",
            "status": TAOBAO_STATUS[order.stage]}


def jd(order: DemoOrder) -> dict[str, Any]:
    """A JOS order object (``OrderSearchInfo``), as ``jd_param_json`` of a push carries it."""
    province, city, district = _region(order)
    invoice = order.invoice
    return {
        "orderId": order.order_id, "venderId": "10086123", "orderType": "22",
        "payType": "4-在线支付", "orderTotalPrice": yuan(order.goods_fen),
        "orderSellerPrice": yuan(order.goods_fen - order.discount_fen),
        "orderPayment": yuan(order.payment_fen), "freightPrice": yuan(order.freight_fen),
        "sellerDiscount": yuan(order.discount_fen), "orderState": JD_STATUS[order.stage],
        "invoiceEasyInfo": {"invoiceType": "1" if invoice else "0",
                            "invoiceTitle": invoice.title if invoice else "",
                            "invoiceCode": (invoice.tax_id or "") if invoice else ""},
        "orderRemark": order.remark or "", "orderStartTime": beijing(order.created_at),
        "paymentConfirmTime": beijing(order.paid_at), "modified": beijing(order.updated_at),
        "open_id_buyer": order.buyer_id,
        "consigneeInfo": {"fullname": order.name, "mobile": order.phone, "telephone": "",
                          "fullAddress": f"{province}{city}{district}{order.street}",
                          "province": province, "city": city, "county": district, "town": ""},
        "itemInfoList": [{"skuId": str(platform_id(x.product.sku, 12)),
                          "outerSkuId": x.product.sku, "skuName": x.product.title,
                          "jdPrice": yuan(x.product.price_fen), "itemTotal": str(x.quantity),
                          "wareId": str(platform_id(x.product.sku.split("-")[0], 12))}
                         for x in order.lines],
        "couponDetailList": [],
    }


def pdd(order: DemoOrder) -> dict[str, Any]:
    """A bare POP order object (the body of our HTTP push from the message service)."""
    province, city, district = _region(order)
    doc: dict[str, Any] = {
        "order_sn": order.order_id, "order_status": PDD_STATUS[order.stage],
        "refund_status": 1, "confirm_status": 1, "group_status": 1,
        "trade_type": 1 if order.presale else 0, "is_pre_sale": 1 if order.presale else 0,
        "created_time": beijing(order.created_at), "confirm_time": beijing(order.paid_at),
        "pay_time": beijing(order.paid_at), "updated_at": beijing(order.updated_at),
        "goods_amount": yuan_number(order.goods_fen),
        "discount_amount": yuan_number(order.discount_fen),
        "pay_amount": yuan_number(order.payment_fen), "postage": yuan_number(order.freight_fen),
        "buyer_memo": order.remark or "", "invoice_status": 1 if order.invoice else 0,
        "country": "中国", "province": province, "city": city, "town": district,
        "receiver_name": order.name, "receiver_phone": order.phone,
        "receiver_address": order.street, "address": f"{province}{city}{district}{order.street}",
        "item_list": [{"goods_id": platform_id(x.product.sku.split("-")[0], 12),
                       "sku_id": platform_id(x.product.sku, 19), "outer_id": x.product.sku,
                       "goods_name": x.product.title,
                       "goods_price": yuan_number(x.product.price_fen),
                       "goods_count": x.quantity} for x in order.lines],
    }
    if order.presale:
        doc["step_order_info"] = {
            "step_trade_status": 1 if order.stage is Stage.DEPOSIT_PAID else 2,
            "step_paid_fee": yuan_number(order.paid_so_far_fen)}
    return doc


def pos(order: DemoOrder) -> str:
    """A POS export (integrations/channels/pos/README.md): one CSV row per line item."""
    out = io.StringIO()
    writer = csv.DictWriter(out, POS_COLUMNS, lineterminator="\n")
    writer.writeheader()
    receipt = _pos_receipt(order)
    for line in order.lines:
        writer.writerow(receipt | {
            "sku_code": line.product.sku, "barcode": f"69{platform_id(line.product.sku, 11)}",
            "title": line.product.title, "quantity": line.quantity,
            "unit_price": yuan(line.product.price_fen), "line_amount": yuan(line.paid_fen)})
    return out.getvalue()


def _pos_receipt(order: DemoOrder) -> dict[str, object]:
    province, city, district = _region(order)
    invoice = order.invoice
    kind = "" if invoice is None else "personal" if invoice.title == "个人" else "company"
    return {"receipt_no": order.order_id, "store_code": order.order_id.split("-")[0],
            "created_at": beijing(order.created_at), "paid_at": beijing(order.paid_at),
            "status": POS_STATUS[order.stage], "member_id": order.buyer_id[-10:],
            "freight": yuan(order.freight_fen), "receiver_name": order.name,
            "receiver_phone": order.phone, "province": province, "city": city,
            "district": district, "address": order.street, "remark": order.remark or "",
            "invoice_type": kind, "invoice_title": invoice.title if invoice else "",
            "invoice_tax_id": (invoice.tax_id or "") if invoice else "",
            "presale": "1" if order.presale else "0",
            "deposit": yuan(order.deposit_fen) if order.presale else ""}


RENDER: dict[str, Callable[[DemoOrder], object]] = {
    "youzan": youzan, "taobao": taobao, "jd": jd, "pdd": pdd, "pos": pos}
