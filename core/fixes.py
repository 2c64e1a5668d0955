"""Data fixes typed by a person after "已补录": check the value, apply it to the order.

The value arrives as a chat message, so it is checked here before it touches an order: a
clear message comes back for anything that does not look like the field (the person is asked
again), never a silent partial fix.
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.order import Invoice, InvoiceKind, Order
from core.taxid import is_valid, normalize

_MOBILE = re.compile(r"1[3-9]\d{9}")
MIN_ADDRESS = 6


class FixValueError(ValueError):
    """The typed value is not a valid value for the field; the message says why (Chinese,
    shown to the person)."""


def apply_fix(order: Order, field: str, text: str) -> Order:
    value = " ".join(text.split())
    if field == "address":
        if len(value) < MIN_ADDRESS:
            raise FixValueError("地址太短，请回复完整的收货地址（省 市 区 + 详细地址）。")
        return replace(order, receiver=replace(order.receiver, address=value))
    if field == "phone":
        digits = re.sub(r"[\s-]", "", value).removeprefix("+86")
        if not _MOBILE.fullmatch(digits):
            raise FixValueError("这不是有效的手机号，请回复 11 位手机号。")
        return replace(order, receiver=replace(order.receiver, phone=digits))
    if field == "tax_id":
        tax_id = normalize(value)
        if not is_valid(tax_id):
            raise FixValueError("这不是有效的统一社会信用代码（18 位，末位为校验码），"
                                "请检查后重新回复。")
        invoice = order.invoice or Invoice(InvoiceKind.COMPANY)
        return replace(order, invoice=replace(invoice, tax_id=tax_id))
    if field == "invoice_title":
        if len(value) < 2:
            raise FixValueError("请回复完整的发票抬头（公司全称）。")
        invoice = order.invoice or Invoice(InvoiceKind.COMPANY)
        return replace(order, invoice=replace(invoice, title=value))
    if field == "spec":
        remark = f"{order.remark}\n" if order.remark else ""
        return replace(order, remark=f"{remark}[定制规格补录] {value}")
    raise FixValueError(f"无法补录字段 {field}")
