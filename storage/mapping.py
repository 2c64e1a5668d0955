"""Rows <-> core objects. The only place that knows both shapes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from core.anomalies import Anomaly, AnomalyCode, AnomalyStatus, Resolution
from core.events import OrderEvent
from core.fingerprint import duplicate_key
from core.order import Invoice, InvoiceKind, Order, OrderLine, Receiver
from core.states import OrderState


def order_values(
    order: Order, *, version: int, head: tuple[int, str], at: datetime
) -> dict[str, Any]:
    receiver = order.receiver
    invoice = order.invoice
    return {
        "channel": order.channel,
        "channel_order_id": order.channel_order_id,
        "status": order.status.value,
        "channel_status": order.channel_status,
        "buyer_id": order.buyer_id,
        "receiver_name": receiver.name,
        "receiver_phone": receiver.phone,
        "receiver_province": receiver.province,
        "receiver_city": receiver.city,
        "receiver_district": receiver.district,
        "receiver_address": receiver.address,
        "total_fen": order.total_fen,
        "paid_fen": order.paid_fen,
        "freight_fen": order.freight_fen,
        "created_at": order.created_at,
        "paid_at": order.paid_at,
        "presale": order.presale,
        "remark": order.remark,
        "invoice": None if invoice is None else {
            "kind": invoice.kind.value, "title": invoice.title, "tax_id": invoice.tax_id,
        },
        "dup_key": duplicate_key(order),
        "version": version,
        "head_seq": head[0],
        "head_hash": head[1],
        "updated_at": at,
    }


def line_values(order_id: int, order: Order) -> list[dict[str, Any]]:
    return [
        {
            "order_id": order_id,
            "position": position,
            "sku": line.sku,
            "channel_sku_id": line.channel_sku_id,
            "title": line.title,
            "quantity": line.quantity,
            "unit_price_fen": line.unit_price_fen,
            "paid_fen": line.paid_fen,
        }
        for position, line in enumerate(order.lines)
    ]


def event_values(order_id: int, event: OrderEvent) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "order_key": event.order,
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "kind": event.kind,
        "data": dict(event.data),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def to_order(row: Row[Any], lines: Sequence[Row[Any]]) -> Order:
    invoice = row.invoice
    return Order(
        channel=row.channel,
        channel_order_id=row.channel_order_id,
        status=OrderState(row.status),
        channel_status=row.channel_status,
        buyer_id=row.buyer_id,
        receiver=Receiver(
            name=row.receiver_name, phone=row.receiver_phone, province=row.receiver_province,
            city=row.receiver_city, district=row.receiver_district, address=row.receiver_address,
        ),
        lines=tuple(
            OrderLine(
                sku=line.sku, channel_sku_id=line.channel_sku_id, title=line.title,
                quantity=line.quantity, unit_price_fen=line.unit_price_fen,
                paid_fen=line.paid_fen,
            )
            for line in lines
        ),
        total_fen=row.total_fen,
        paid_fen=row.paid_fen,
        freight_fen=row.freight_fen,
        created_at=row.created_at,
        paid_at=row.paid_at,
        presale=row.presale,
        remark=row.remark,
        invoice=None if invoice is None else Invoice(
            kind=InvoiceKind(invoice["kind"]), title=invoice.get("title"),
            tax_id=invoice.get("tax_id"),
        ),
    )


def to_event(row: Row[Any]) -> OrderEvent:
    return OrderEvent(
        order=row.order_key, seq=row.seq, at=row.at, actor=row.actor, kind=row.kind,
        data=row.data, prev_hash=row.prev_hash, hash=row.hash,
    )


def to_anomaly(row: Row[Any]) -> Anomaly:
    return Anomaly(
        order_key=row.order_key, code=AnomalyCode(row.code), blocking=row.blocking,
        opened_at=row.opened_at, reason=row.reason, data=row.data,
        status=AnomalyStatus(row.status), resolved_at=row.resolved_at,
        resolved_by=row.resolved_by, id=row.id, level=row.level, owner_role=row.owner_role,
        first_action_at=row.first_action_at,
        resolution=Resolution(row.resolution) if row.resolution else None,
    )
