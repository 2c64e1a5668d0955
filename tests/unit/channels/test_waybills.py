"""Waybills in channel payloads -> ``Order.shipments`` (tracking number + our carrier code), per
channel, from the documented waybill-bearing samples; what is left out (no number, a carrier we
cannot name) and why; the canonical JSON of unshipped orders keeps its shape."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from core.ingest import changed_fields, content_hash
from core.order import Order, Shipment, from_canonical, to_canonical
from core.states import OrderState
from integrations.channels import registry
from integrations.channels.shipments import shipment, unique

DATA = Path(__file__).parents[2] / "data" / "channels"

# (channel, sample, order id, expected shipments) — fields used per channel:
# 淘宝 orders.order[].invoice_no + logistics_company; 抖店 logistics_info[].tracking_no + company;
# 拼多多 tracking_number + logistics_id; 京东 waybill + logisticsId; 有赞 delivery_order[].dists[]
# .express_info.express_no + express_id; 微信小店 delivery_product_info[].waybill_id + delivery_id.
SHIPPED = [
    ("taobao", "fullinfo_shipped_two_parcels.json", "2456789012345679101",
     [("78812345670001", "ZTO"), ("SF1400012345678", "SF")]),
    ("douyin", "order_detail_shipped_logistics_info.json", "6921987654321099001",
     [("YT7001234567890", "YTO")]),
    ("pdd", "information_shipped_waybill.json", "260106-553310287461234",
     [("75312345678901", "ZTO")]),
    ("jd", "pop_order_get_shipped_waybill.json", "298765432199", [("SF1400098765432", "SF")]),
    ("youzan", "trade_get_shipped_delivery_order.json", "E20260103090000000000001",
     [("773012345678901", "STO")]),
    ("wechat_shop", "order_get_shipped_waybill.json", "3705115058471209001",
     [("YT7009876543210", "YTO")]),
]


def parse(channel: str, name: str) -> list[Order]:
    return registry.get(channel).parse((DATA / channel / name).read_bytes())


@pytest.mark.parametrize(("channel", "name", "order_id", "expected"), SHIPPED,
                         ids=[c for c, *_ in SHIPPED])
def test_a_shipped_order_carries_its_waybills(channel: str, name: str, order_id: str,
                                              expected: list[tuple[str, str]]) -> None:
    [order] = parse(channel, name)
    assert order.channel_order_id == order_id
    assert order.status is OrderState.LABEL_PRINTED  # a waybill is not a carrier scan
    assert [(s.tracking_no, s.carrier, s.source) for s in order.shipments] == [
        (number, carrier, "channel") for number, carrier in expected]


def test_taobao_lines_of_one_parcel_give_one_shipment() -> None:
    """Two lines share 中通 78812345670001, the third went by 顺丰: two parcels, in line order."""
    [order] = parse("taobao", "fullinfo_shipped_two_parcels.json")
    assert len(order.lines) == 3 and len(order.shipments) == 2


def test_youzan_delivery_without_a_number_is_not_a_parcel() -> None:
    """The second 发货单 is 无需物流 (``express_no`` "", ``express_id`` 0): nothing to track."""
    [order] = parse("youzan", "trade_get_shipped_delivery_order.json")
    assert [s.tracking_no for s in order.shipments] == ["773012345678901"]


def test_a_carrier_we_cannot_name_is_logged_not_guessed(caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    """The 拼多多 detail sample has ``tracking_number`` but no ``logistics_id``."""
    with caplog.at_level(logging.WARNING, "orderbot.channels.shipments"):
        [order] = parse("pdd", "information_multi_line_encrypted_refunding.json")
    assert order.shipments == ()
    [event] = [r for r in caplog.records if r.getMessage() == "waybill carrier unknown"]
    assert (event.channel, event.tracking_no, event.carrier_id) == (  # type: ignore[attr-defined]
        "pdd", "YT1234567890123", None)
    assert event.where.startswith("pdd:260103-553310287460128")  # type: ignore[attr-defined]


def test_unknown_platform_company_id_leaves_the_waybill_out(caplog: pytest.LogCaptureFixture
                                                            ) -> None:
    doc = json.loads((DATA / "jd" / "pop_order_get_shipped_waybill.json").read_bytes())
    doc["jingdong_pop_order_get_responce"]["orderDetailInfo"]["orderInfo"]["logisticsId"] = "1274"
    with caplog.at_level(logging.WARNING, "orderbot.channels.shipments"):
        [order] = registry.get("jd").parse(json.dumps(doc).encode())
    assert order.shipments == ()
    assert [(r.carrier_id, r.carrier_name) for r in caplog.records  # type: ignore[attr-defined]
            if r.getMessage() == "waybill carrier unknown"] == [("1274", None)]


def test_shipment_names_the_carrier_from_the_first_name_that_resolves() -> None:
    assert shipment(" 9876 ", [None, "unknown-co", "zhongtong"], where="t") == Shipment(
        "9876", "ZTO")
    assert shipment("", ["SF"], where="t") is None
    assert shipment(None, ["SF"], where="t") is None
    assert unique([Shipment("1", "SF"), None, Shipment("1", "SF"), Shipment("1", "ZTO")]) == (
        Shipment("1", "SF"), Shipment("1", "ZTO"))


UNSHIPPED = [
    ("taobao", "fullinfo_multi_line_refund_masked.json"),
    ("douyin", "order_detail_multi_line_encrypted_after_sale.json"),
    ("jd", "pop_order_get_multi_line.json"),
    ("youzan", "trade_get_multi_line_encrypted_receiver.json"),
    ("wechat_shop", "order_get_multi_line_masked_aftersale.json"),
    ("pos", "single_line_utf8_bom.csv"),
]


@pytest.mark.parametrize(("channel", "name"), UNSHIPPED, ids=[c for c, _ in UNSHIPPED])
def test_an_order_without_waybills_keeps_its_canonical_shape(channel: str, name: str) -> None:
    for order in parse(channel, name):
        assert order.shipments == ()
        assert "shipments" not in to_canonical(order)


def test_canonical_round_trip_and_content_ignore_shipments() -> None:
    [order] = parse("taobao", "fullinfo_shipped_two_parcels.json")
    doc = to_canonical(order)
    assert doc["shipments"] == [
        {"tracking_no": "78812345670001", "carrier": "ZTO", "source": "channel"},
        {"tracking_no": "SF1400012345678", "carrier": "SF", "source": "channel"}]
    assert from_canonical(json.loads(json.dumps(doc))) == order
    bare = from_canonical({k: v for k, v in doc.items() if k != "shipments"})
    # a stored order has no shipments (they live as parcels): no content change, same hash
    assert changed_fields(bare, order) == [] and content_hash(bare) == content_hash(order)
