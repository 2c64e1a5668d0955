"""京东 POP ``OrderSearchInfo`` / ``orderInfo`` -> canonical ``Order``.

Field names are the JOS ones of ``jingdong.pop.order.search`` and ``jingdong.pop.order.get``
(camelCase, as in the official JD SDK domain classes ``OrderSearchInfo``, ``UserInfo``
(consigneeInfo), ``ItemInfo``, ``InvoiceEasyInfo``). Money is yuan strings; times are
"yyyy-MM-dd HH:mm:ss" Beijing time, with "0001-01-01 00:00:00" meaning "not yet".

JD gives no per-line paid amount (discounts sit in ``couponDetailList``), so a line's ``paid_fen``
is ``jdPrice × itemTotal`` before discounts; the order's ``paid_fen`` is ``orderPayment``.

Waybill: ``OrderSearchInfo.waybill`` (运单号) with ``logisticsId`` (物流公司ID, see
``jd/carriers.py``); one per order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.order import Invoice, InvoiceKind, Order, OrderLine, Receiver, Shipment
from core.states import OrderState
from integrations.channels import payload as r
from integrations.channels.jd.carriers import LOGISTICS_COMPANIES
from integrations.channels.jd.statuses import STATUSES
from integrations.channels.shipments import shipment, unique

CHANNEL = "jd"
_UNPAID = {OrderState.PENDING_PAYMENT, OrderState.CANCELLED}


def map_order(doc: Mapping[str, Any], path: str) -> Order:
    """One JD order object -> ``Order``."""
    word = str(r.req(doc, "orderState", path))
    status = STATUSES.map(word)
    paid_at = r.optional_shanghai_time(doc.get("paymentConfirmTime"), f"{path}.paymentConfirmTime")
    return Order(
        channel=CHANNEL,
        channel_order_id=r.ident(r.req(doc, "orderId", path), f"{path}.orderId"),
        status=status,
        channel_status=word,
        created_at=r.shanghai_time(r.req(doc, "orderStartTime", path), f"{path}.orderStartTime"),
        paid_at=paid_at,
        buyer_id=_buyer(doc, path),
        receiver=_receiver(doc.get("consigneeInfo"), f"{path}.consigneeInfo"),
        lines=_lines(r.arr(r.req(doc, "itemInfoList", path), f"{path}.itemInfoList"),
                     f"{path}.itemInfoList"),
        total_fen=r.yuan(doc.get("orderTotalPrice"), f"{path}.orderTotalPrice"),
        paid_fen=0 if status in _UNPAID and paid_at is None
        else r.yuan(doc.get("orderPayment"), f"{path}.orderPayment"),
        freight_fen=r.yuan(doc.get("freightPrice"), f"{path}.freightPrice"),
        remark=r.text(doc.get("orderRemark"), f"{path}.orderRemark"),
        invoice=_invoice(doc, path),
        shipments=unique([_shipment(doc, path)]),
    )


def _shipment(doc: Mapping[str, Any], path: str) -> Shipment | None:
    company = r.text(doc.get("logisticsId"), f"{path}.logisticsId")
    number = r.text(doc.get("waybill"), f"{path}.waybill")
    return shipment(number, [LOGISTICS_COMPANIES.get(company or "")],
                    where=f"{CHANNEL}:{doc.get('orderId')} {path} logisticsId={company}",
                    carrier_id=company)


def _buyer(doc: Mapping[str, Any], path: str) -> str | None:
    """``open_id_buyer`` replaced ``pin`` when JD stopped handing out buyer accounts."""
    return (r.text(doc.get("open_id_buyer"), f"{path}.open_id_buyer")
            or r.text(doc.get("pin"), f"{path}.pin"))


def _receiver(value: object, path: str) -> Receiver:
    if value is None:
        return Receiver()
    c = r.obj(value, path)
    phone = r.text(c.get("mobile"), f"{path}.mobile") or r.text(c.get("telephone"),
                                                                f"{path}.telephone")
    return Receiver(
        name=r.text(c.get("fullname"), f"{path}.fullname"),
        phone=phone,
        province=r.text(c.get("province"), f"{path}.province"),
        city=r.text(c.get("city"), f"{path}.city"),
        district=r.text(c.get("county"), f"{path}.county"),
        address=r.text(c.get("fullAddress"), f"{path}.fullAddress"),
    )


def _lines(items: list[Any], path: str) -> tuple[OrderLine, ...]:
    return tuple(_line(r.obj(item, f"{path}[{i}]"), f"{path}[{i}]")
                 for i, item in enumerate(items))


def _line(item: Mapping[str, Any], path: str) -> OrderLine:
    sku_id = r.ident(r.req(item, "skuId", path), f"{path}.skuId")
    quantity = r.positive_int(r.req(item, "itemTotal", path), f"{path}.itemTotal")
    price = r.yuan(item.get("jdPrice"), f"{path}.jdPrice")
    return OrderLine(
        sku=r.text(item.get("outerSkuId"), f"{path}.outerSkuId") or sku_id,
        channel_sku_id=sku_id,
        title=r.text(item.get("skuName"), f"{path}.skuName") or "",
        quantity=quantity,
        unit_price_fen=price,
        paid_fen=price * quantity,
    )


def _invoice(doc: Mapping[str, Any], path: str) -> Invoice | None:
    """``invoiceEasyInfo.invoiceType``: 0 不开发票, 1 普通, 2 增值税, 3 电子 (JOS document)."""
    easy = doc.get("invoiceEasyInfo")
    if easy is None:
        return None
    info = r.obj(easy, f"{path}.invoiceEasyInfo")
    kind_code = str(info.get("invoiceType") or "0")
    if kind_code == "0":
        return None
    title = r.text(info.get("invoiceTitle"), f"{path}.invoiceEasyInfo.invoiceTitle")
    tax_id = r.text(info.get("invoiceCode"), f"{path}.invoiceEasyInfo.invoiceCode")
    personal = kind_code != "2" and (tax_id is None or title in (None, "个人"))
    return Invoice(kind=InvoiceKind.PERSONAL if personal else InvoiceKind.COMPANY,
                   title=title, tax_id=tax_id)
