"""The canonical order: one shape for every channel's orders.

``to_canonical`` / ``from_canonical`` define the JSON contract other tools read::

    {"channel","channel_order_id","status","channel_status","buyer_id",
     "receiver":{"name","phone","province","city","district","address"},
     "lines":[{"sku","channel_sku_id","title","quantity","unit_price_fen","paid_fen"}],
     "total_fen","paid_fen","freight_fen","created_at","paid_at","presale","remark",
     "invoice":{"kind","title","tax_id"} | null,
     "shipments":[{"tracking_no","carrier","source"}]}

``shipments`` (the waybills a channel says the seller shipped with) is written only when there
is one, and read as empty when absent, so documents of unshipped orders keep their shape. It is
not stored on the order: ingestion registers each one as a parcel (``storage/parcels.py``).

Money is integer fen, times are aware (UTC inside, ISO-8601 with offset in JSON), unknown
values are ``None``/null. Construction validates, so an ``Order`` that exists is well formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from core.clock import parse_iso, require_aware, to_iso
from core.errors import InvalidOrderError
from core.states import OrderState

RECEIVER_FIELDS = ("name", "phone", "province", "city", "district", "address")
SHIPMENT_FIELDS = ("tracking_no", "carrier", "source")
CHANNEL_SOURCE = "channel"  # a shipment the order payload itself reported
LINE_FIELDS = ("sku", "channel_sku_id", "title", "quantity", "unit_price_fen", "paid_fen")
ORDER_FIELDS = (
    "channel", "channel_order_id", "status", "channel_status", "buyer_id", "receiver", "lines",
    "total_fen", "paid_fen", "freight_fen", "created_at", "paid_at", "presale", "remark",
    "invoice",
)  # fmt: skip


class InvoiceKind(StrEnum):
    PERSONAL = "personal"
    COMPANY = "company"


def _fen(value: object, where: str) -> int:
    if type(value) is not int or value < 0:
        raise InvalidOrderError(where, f"expected a non-negative integer of fen, got {value!r}")
    return value


def _text(value: object, where: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidOrderError(where, f"expected {'a non-empty ' if required else ''}string")
    return value


@dataclass(frozen=True, slots=True)
class Receiver:
    name: str | None = None
    phone: str | None = None
    province: str | None = None
    city: str | None = None
    district: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        for name in RECEIVER_FIELDS:
            _text(getattr(self, name), f"receiver.{name}")


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    title: str | None
    quantity: int
    unit_price_fen: int
    paid_fen: int
    channel_sku_id: str | None = None

    def __post_init__(self) -> None:
        _text(self.sku, "lines.sku", required=True)
        _text(self.title, "lines.title")
        _text(self.channel_sku_id, "lines.channel_sku_id")
        if type(self.quantity) is not int or self.quantity <= 0:
            raise InvalidOrderError("lines.quantity", f"expected a positive integer, got "
                                    f"{self.quantity!r}")
        _fen(self.unit_price_fen, "lines.unit_price_fen")
        _fen(self.paid_fen, "lines.paid_fen")


@dataclass(frozen=True, slots=True)
class Invoice:
    kind: InvoiceKind
    title: str | None = None
    tax_id: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, InvoiceKind):
            raise InvalidOrderError("invoice.kind", "expected 'personal' or 'company'")
        _text(self.title, "invoice.title")
        _text(self.tax_id, "invoice.tax_id")


@dataclass(frozen=True, slots=True)
class Shipment:
    """A waybill the order was shipped with, as its source reported it: the tracking number and
    our carrier code (``core.carriers``; adapters normalise the channel's own company name or
    id). ``source`` says who told us ("channel": the order payload)."""

    tracking_no: str
    carrier: str
    source: str = CHANNEL_SOURCE

    def __post_init__(self) -> None:
        _text(self.tracking_no, "shipments.tracking_no", required=True)
        _text(self.carrier, "shipments.carrier", required=True)
        _text(self.source, "shipments.source", required=True)


@dataclass(frozen=True, slots=True)
class Order:
    channel: str
    channel_order_id: str
    status: OrderState
    created_at: datetime
    receiver: Receiver = field(default_factory=Receiver)
    lines: tuple[OrderLine, ...] = ()
    total_fen: int = 0
    paid_fen: int = 0
    freight_fen: int = 0
    channel_status: str | None = None
    buyer_id: str | None = None
    paid_at: datetime | None = None
    presale: bool = False
    remark: str | None = None
    invoice: Invoice | None = None
    shipments: tuple[Shipment, ...] = ()

    def __post_init__(self) -> None:
        _text(self.channel, "channel", required=True)
        _text(self.channel_order_id, "channel_order_id", required=True)
        if not isinstance(self.status, OrderState):
            raise InvalidOrderError("status", f"not a canonical state: {self.status!r}")
        for name in ("total_fen", "paid_fen", "freight_fen"):
            _fen(getattr(self, name), name)
        if not isinstance(self.lines, tuple):
            raise InvalidOrderError("lines", "expected a tuple of OrderLine")
        if not isinstance(self.shipments, tuple):
            raise InvalidOrderError("shipments", "expected a tuple of Shipment")
        if type(self.presale) is not bool:
            raise InvalidOrderError("presale", "expected true or false")
        _text(self.channel_status, "channel_status")
        _text(self.buyer_id, "buyer_id")
        _text(self.remark, "remark")
        self._check_time("created_at", self.created_at)
        if self.paid_at is not None:
            self._check_time("paid_at", self.paid_at)

    def _check_time(self, name: str, value: object) -> None:
        if not isinstance(value, datetime):
            raise InvalidOrderError(name, "expected a datetime")
        try:
            require_aware(value, name)
        except ValueError as error:
            raise InvalidOrderError(name, str(error)) from None

    @property
    def key(self) -> str:
        """Identity across the system: ``channel:channel_order_id``."""
        return f"{self.channel}:{self.channel_order_id}"


def to_canonical(order: Order) -> dict[str, Any]:
    """The contract JSON object (a plain dict, ready for ``json.dumps``)."""
    invoice = order.invoice
    doc = {
        "channel": order.channel,
        "channel_order_id": order.channel_order_id,
        "status": order.status.value,
        "channel_status": order.channel_status,
        "buyer_id": order.buyer_id,
        "receiver": {name: getattr(order.receiver, name) for name in RECEIVER_FIELDS},
        "lines": [{name: getattr(line, name) for name in LINE_FIELDS} for line in order.lines],
        "total_fen": order.total_fen,
        "paid_fen": order.paid_fen,
        "freight_fen": order.freight_fen,
        "created_at": to_iso(order.created_at),
        "paid_at": to_iso(order.paid_at) if order.paid_at else None,
        "presale": order.presale,
        "remark": order.remark,
        "invoice": None if invoice is None else {
            "kind": invoice.kind.value, "title": invoice.title, "tax_id": invoice.tax_id,
        },
    }  # fmt: skip
    if order.shipments:
        doc["shipments"] = [{name: getattr(shipment, name) for name in SHIPMENT_FIELDS}
                            for shipment in order.shipments]
    return doc


def from_canonical(doc: Mapping[str, Any]) -> Order:
    """Parse the contract JSON; a wrong or missing field raises ``InvalidOrderError`` naming it."""
    if not isinstance(doc, Mapping):
        raise InvalidOrderError("order", "expected a JSON object")
    missing = [name for name in ORDER_FIELDS if name not in doc]
    if missing:
        raise InvalidOrderError(missing[0], "missing")
    return Order(
        channel=doc["channel"],
        channel_order_id=doc["channel_order_id"],
        status=_state(doc["status"]),
        channel_status=doc["channel_status"],
        buyer_id=doc["buyer_id"],
        receiver=_receiver(doc["receiver"]),
        lines=tuple(_line(item, i) for i, item in enumerate(_list(doc["lines"], "lines"))),
        total_fen=doc["total_fen"],
        paid_fen=doc["paid_fen"],
        freight_fen=doc["freight_fen"],
        created_at=_time(doc["created_at"], "created_at"),
        paid_at=None if doc["paid_at"] is None else _time(doc["paid_at"], "paid_at"),
        presale=doc["presale"],
        remark=doc["remark"],
        invoice=_invoice(doc["invoice"]),
        shipments=tuple(_shipment(item, i) for i, item
                        in enumerate(_list(doc.get("shipments", []), "shipments"))),
    )


def _state(value: object) -> OrderState:
    try:
        return OrderState(str(value))
    except ValueError:
        raise InvalidOrderError("status", f"not a canonical state: {value!r}") from None


def _list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidOrderError(where, "expected a list")
    return value


def _object(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidOrderError(where, "expected an object")
    return value


def _time(value: object, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidOrderError(where, "expected an ISO-8601 string with offset")
    try:
        return parse_iso(value, where)
    except ValueError as error:
        raise InvalidOrderError(where, str(error).split(": ", 1)[-1]) from None


def _receiver(value: object) -> Receiver:
    doc = _object(value, "receiver")
    return Receiver(**{name: doc.get(name) for name in RECEIVER_FIELDS})


def _line(value: object, index: int) -> OrderLine:
    doc = _object(value, f"lines[{index}]")
    for name in LINE_FIELDS:
        if name not in doc:
            raise InvalidOrderError(f"lines[{index}].{name}", "missing")
    return OrderLine(**{name: doc[name] for name in LINE_FIELDS})


def _invoice(value: object) -> Invoice | None:
    if value is None:
        return None
    doc = _object(value, "invoice")
    try:
        kind = InvoiceKind(str(doc.get("kind")))
    except ValueError:
        raise InvalidOrderError("invoice.kind", "expected 'personal' or 'company'") from None
    return Invoice(kind=kind, title=doc.get("title"), tax_id=doc.get("tax_id"))


def _shipment(value: object, index: int) -> Shipment:
    doc = _object(value, f"shipments[{index}]")
    for name in ("tracking_no", "carrier"):
        if name not in doc:
            raise InvalidOrderError(f"shipments[{index}].{name}", "missing")
    return Shipment(tracking_no=doc["tracking_no"], carrier=doc["carrier"],
                    source=doc.get("source", CHANNEL_SOURCE))
