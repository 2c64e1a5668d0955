"""POS CSV export -> canonical orders: one row per line item, grouped by ``receipt_no``.

The column set is ours and documented in README.md. Receipt-level columns repeat on every row
of a receipt and must agree; the first row wins and a disagreement is an error naming the row.
Text may be UTF-8 (with or without BOM) or GBK, as Windows POS software exports it.

No waybills: a POS receipt is a sale over the counter and the column set has no tracking
number or carrier, so POS orders carry no shipments (a later delivery is registered by whoever
creates its waybill: the WMS or the e-waybill integration).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from core.order import Invoice, InvoiceKind, Order, OrderLine, Receiver
from core.states import OrderState
from integrations.channels import payload as r
from integrations.channels.base import ChannelPayloadError, PushContent, WebhookRequest
from integrations.channels.pos.statuses import STATUSES

CHANNEL = "pos"
REQUIRED = ("receipt_no", "created_at", "status", "sku_code", "quantity", "unit_price",
            "line_amount")
RECEIPT_COLUMNS = ("store_code", "created_at", "paid_at", "status", "member_id", "freight",
                   "receiver_name", "receiver_phone", "province", "city", "district",
                   "address", "remark", "invoice_type", "invoice_title", "invoice_tax_id",
                   "presale", "deposit")


def decode(payload: object) -> str:
    """CSV bytes -> text: UTF-8 (BOM tolerated) first, then GBK."""
    if isinstance(payload, str):
        return payload.lstrip("\ufeff")
    if not isinstance(payload, bytes | bytearray):
        raise ChannelPayloadError("$: expected CSV text or bytes")
    try:
        return bytes(payload).decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return bytes(payload).decode("gbk")
        except UnicodeDecodeError:
            raise ChannelPayloadError("$: neither UTF-8 nor GBK text") from None


def parse_csv(payload: object) -> list[Order]:
    """Every receipt in the export, in order of first appearance."""
    rows = list(csv.DictReader(io.StringIO(decode(payload))))
    if not rows:
        return []
    missing = [c for c in REQUIRED if c not in rows[0]]
    if missing:
        raise ChannelPayloadError(f"header: missing column {missing[0]}")
    receipts: dict[str, list[tuple[int, Mapping[str, str]]]] = {}
    for number, row in enumerate(rows, start=2):  # row 1 is the header
        key = (row.get("receipt_no") or "").strip()
        if not key:
            raise ChannelPayloadError(f"row {number}.receipt_no: missing")
        receipts.setdefault(key, []).append((number, row))
    return [_receipt(key, group) for key, group in receipts.items()]



def parse_push(request: WebhookRequest, secret: str) -> PushContent:
    """An upload's body is a whole CSV export."""
    return PushContent(orders=tuple(parse_csv(request.body)))

def _receipt(key: str, group: list[tuple[int, Mapping[str, str]]]) -> Order:
    first_no, first = group[0]
    for number, row in group[1:]:
        for column in RECEIPT_COLUMNS:
            if (row.get(column) or "") != (first.get(column) or ""):
                raise ChannelPayloadError(f"row {number}.{column}: differs from row {first_no} "
                                          f"of receipt {key}")
    at = f"row {first_no}"
    status = STATUSES.map((first.get("status") or "").strip().upper())
    lines = tuple(_line(row, f"row {n}") for n, row in group)
    freight = r.yuan(first.get("freight"), f"{at}.freight")
    return Order(
        channel=CHANNEL, channel_order_id=key, status=status,
        channel_status=first.get("status"),
        created_at=r.shanghai_time(first.get("created_at"), f"{at}.created_at"),
        paid_at=r.optional_shanghai_time(first.get("paid_at"), f"{at}.paid_at"),
        buyer_id=r.text(first.get("member_id"), f"{at}.member_id"),
        receiver=_receiver(first, at), lines=lines,
        total_fen=sum(x.unit_price_fen * x.quantity for x in lines),
        paid_fen=_paid(status, first, lines, freight, at), freight_fen=freight,
        presale=(first.get("presale") or "0").strip() in ("1", "true", "TRUE"),
        remark=r.text(first.get("remark"), f"{at}.remark"),
        invoice=_invoice(first, at),
    )


def _paid(status: OrderState, row: Mapping[str, str], lines: tuple[OrderLine, ...],
          freight: int, at: str) -> int:
    if status is OrderState.DEPOSIT_PAID:
        return r.yuan(row.get("deposit"), f"{at}.deposit")
    if status in (OrderState.PENDING_PAYMENT, OrderState.CANCELLED):
        return 0
    return sum(x.paid_fen for x in lines) + freight


def _line(row: Mapping[str, str], at: str) -> OrderLine:
    sku = (row.get("sku_code") or "").strip()
    if not sku:
        raise ChannelPayloadError(f"{at}.sku_code: missing")
    return OrderLine(
        sku=sku,
        channel_sku_id=r.text((row.get("barcode") or "").strip(), f"{at}.barcode"),
        title=(row.get("title") or "").strip(),
        quantity=r.positive_int((row.get("quantity") or "").strip(), f"{at}.quantity"),
        unit_price_fen=r.yuan((row.get("unit_price") or "").strip(), f"{at}.unit_price"),
        paid_fen=r.yuan((row.get("line_amount") or "").strip(), f"{at}.line_amount"),
    )


def _receiver(row: Mapping[str, str], at: str) -> Receiver:
    def col(name: str) -> str | None:
        return r.text((row.get(name) or "").strip(), f"{at}.{name}")

    return Receiver(name=col("receiver_name"), phone=col("receiver_phone"),
                    province=col("province"), city=col("city"), district=col("district"),
                    address=col("address"))


def _invoice(row: Mapping[str, str], at: str) -> Invoice | None:
    kind = (row.get("invoice_type") or "").strip().lower()
    if kind in ("", "none"):
        return None
    try:
        invoice_kind = InvoiceKind(kind)
    except ValueError:
        raise ChannelPayloadError(f"{at}.invoice_type: expected none, personal or company, "
                                  f"got {kind!r}") from None
    return Invoice(kind=invoice_kind, title=r.text(row.get("invoice_title"), f"{at}.title"),
                   tax_id=r.text(row.get("invoice_tax_id"), f"{at}.invoice_tax_id"))
