"""The canonical order and its JSON contract."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from core.errors import InvalidOrderError
from core.order import ORDER_FIELDS, from_canonical, to_canonical
from core.states import OrderState
from tests.factories import make_order


def canonical(**changes: Any) -> dict[str, Any]:
    doc = to_canonical(make_order(1))
    doc.update(changes)
    return doc


def test_contract_shape_is_exact() -> None:
    doc = to_canonical(make_order(1))
    assert list(doc) == list(ORDER_FIELDS)
    assert list(doc["receiver"]) == ["name", "phone", "province", "city", "district", "address"]
    assert list(doc["lines"][0]) == ["sku", "channel_sku_id", "title", "quantity",
                                     "unit_price_fen", "paid_fen"]
    assert list(doc["invoice"]) == ["kind", "title", "tax_id"]
    assert doc["created_at"] == "2026-11-11T02:00:01+00:00"


def test_round_trip_through_json() -> None:
    order = make_order(7)
    assert from_canonical(json.loads(json.dumps(to_canonical(order)))) == order


def test_offsets_are_normalised_to_utc() -> None:
    order = from_canonical(canonical(created_at="2026-11-11T10:00:00+08:00"))
    assert order.created_at.isoformat() == "2026-11-11T02:00:00+00:00"


def test_null_invoice_and_unknowns() -> None:
    doc = canonical(invoice=None, paid_at=None, buyer_id=None, channel_status=None)
    assert to_canonical(from_canonical(doc))["invoice"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"status": "shipped"}, "status"),
        ({"total_fen": 12.5}, "total_fen"),
        ({"paid_fen": -1}, "paid_fen"),
        ({"freight_fen": True}, "freight_fen"),
        ({"created_at": "2026-11-11 10:00:00"}, "created_at"),
        ({"paid_at": 1731290000}, "paid_at"),
        ({"channel_order_id": ""}, "channel_order_id"),
        ({"presale": "no"}, "presale"),
        ({"invoice": {"kind": "vat", "title": None, "tax_id": None}}, "invoice.kind"),
        ({"receiver": {"name": 5}}, "receiver.name"),
        ({"lines": "SKU-1"}, "lines"),
    ],
)
def test_bad_fields_are_named(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidOrderError) as info:
        from_canonical(canonical(**changes))
    assert info.value.field == field


def test_bad_line_is_named_with_its_index() -> None:
    doc = canonical()
    doc["lines"][1]["quantity"] = 0
    with pytest.raises(InvalidOrderError, match=r"lines.quantity"):
        from_canonical(doc)
    del doc["lines"][2]["sku"]
    doc["lines"][1]["quantity"] = 1
    with pytest.raises(InvalidOrderError, match=r"lines\[2\].sku: missing"):
        from_canonical(doc)


def test_missing_field_is_named() -> None:
    doc = canonical()
    del doc["remark"]
    with pytest.raises(InvalidOrderError, match="remark: missing"):
        from_canonical(doc)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(InvalidOrderError, match="created_at"):
        replace(make_order(1), created_at=datetime(2026, 1, 1))


def test_key_is_channel_and_id() -> None:
    assert make_order(1, channel="pdd", status=OrderState.PAID).key == "pdd:3900000000000001"
