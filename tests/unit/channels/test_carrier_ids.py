"""Platform company ids (拼多多 ``logistics_id``, 京东 ``logisticsId``, 有赞 ``express_id``) ->
our carrier codes, through each channel's parse of its waybill sample with only the id changed;
an id that leads to no carrier we track leaves the waybill out with one structured event
(channel + id), and a delivery with nothing to track logs nothing."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from core.carriers import UnknownCarrierError, carrier
from core.order import Order
from integrations.channels import registry
from integrations.channels.jd.carriers import LOGISTICS_COMPANIES as JD
from integrations.channels.pdd.carriers import LOGISTICS_COMPANIES as PDD
from integrations.channels.youzan.carriers import EXPRESS_COMPANIES as YOUZAN

DATA = Path(__file__).parents[2] / "data" / "channels"
EVENT = "waybill carrier unknown"


def _pdd(doc: dict[str, Any], company: object) -> None:
    doc["order_info_get_response"]["order_info"]["logistics_id"] = company


def _jd(doc: dict[str, Any], company: object) -> None:
    doc["jingdong_pop_order_get_responce"]["orderDetailInfo"]["orderInfo"]["logisticsId"] = company


def _youzan(doc: dict[str, Any], company: object) -> None:
    doc["data"]["delivery_order"][0]["dists"][0]["express_info"]["express_id"] = company


SAMPLES = {
    "pdd": ("information_shipped_waybill.json", _pdd, "75312345678901"),
    "jd": ("pop_order_get_shipped_waybill.json", _jd, "SF1400098765432"),
    "youzan": ("trade_get_shipped_delivery_order.json", _youzan, "773012345678901"),
}


def parse_with(channel: str, company: object) -> Order:
    name, put, _ = SAMPLES[channel]
    doc = json.loads((DATA / channel / name).read_bytes())
    put(doc, company)
    [order] = registry.get(channel).parse(json.dumps(doc).encode())
    return order


def events(caplog: pytest.LogCaptureFixture) -> list[tuple[object, object, object]]:
    return [(r.channel, r.carrier_id, r.carrier_name)  # type: ignore[attr-defined]
            for r in caplog.records if r.getMessage() == EVENT]


MAPPED = [
    # 拼多多 pdd.logistics.companies.get capture (request_id 15807151639054916)
    ("pdd", 1, "STO"), ("pdd", 3, "HTKY"), ("pdd", 44, "SF"), ("pdd", 85, "YTO"),
    ("pdd", 115, "ZTO"), ("pdd", 118, "EMS"), ("pdd", 120, "JD"), ("pdd", 121, "YD"),
    ("pdd", 131, "DBL"), ("pdd", 132, "YZPY"), ("pdd", 204, "HTKY"), ("pdd", 230, "DBL"),
    ("pdd", 384, "JTSD"),
    # 京东 vendor logistics list capture (vender_id 202210)
    ("jd", "463", "YTO"), ("jd", "465", "EMS"), ("jd", "467", "SF"), ("jd", "1327", "YD"),
    ("jd", "1499", "ZTO"), ("jd", "2170", "YZPY"),
    # 有赞: example response (1) and an integrator's out_stype enum (4)
    ("youzan", 1, "STO"), ("youzan", 4, "YD"),
    # companies core.carriers tracks since its table gained them
    ("pdd", 117, "UC"), ("pdd", 119, "HHTT"), ("pdd", 129, "ZJS"), ("pdd", 183, "KYSY"),
    ("pdd", 343, "ZTOKY"), ("pdd", 348, "YMDD"), ("jd", "1747", "UC"), ("youzan", 25, "ZJS"),
]


@pytest.mark.parametrize(("channel", "company", "code"), MAPPED,
                         ids=[f"{c}-{i}" for c, i, _ in MAPPED])
def test_a_platform_company_id_names_our_carrier(channel: str, company: object, code: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "orderbot.channels"):
        order = parse_with(channel, company)
    assert [(s.tracking_no, s.carrier) for s in order.shipments] == [(SAMPLES[channel][2], code)]
    assert events(caplog) == []


UNKNOWN = [("pdd", 999999, "999999"), ("jd", "1274", "1274"), ("youzan", 7, "7")]


@pytest.mark.parametrize(("channel", "company", "logged"), UNKNOWN, ids=[c for c, *_ in UNKNOWN])
def test_an_unlisted_id_is_dropped_with_an_event(channel: str, company: object, logged: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    """1274 is 京东's 厂家自送 (the seller delivers itself): listed by JD, not a carrier."""
    with caplog.at_level(logging.WARNING, "orderbot.channels"):
        order = parse_with(channel, company)
    assert order.shipments == ()
    assert events(caplog) == [(channel, logged, None)]
    assert [r.tracking_no for r in caplog.records  # type: ignore[attr-defined]
            if r.getMessage() == EVENT] == [SAMPLES[channel][2]]


def test_a_listed_company_we_cannot_track_is_dropped_and_named(caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    with caplog.at_level(logging.WARNING, "orderbot.channels"):
        order = parse_with("pdd", 208)
    assert order.shipments == ()
    assert events(caplog) == [("pdd", "208", "安能快递")]


def test_a_delivery_without_a_number_logs_no_event(caplog: pytest.LogCaptureFixture) -> None:
    """The 有赞 sample's second 发货单 is 无需物流 (express_id 0, express_no "")."""
    with caplog.at_level(logging.WARNING, "orderbot.channels"):
        parse_with("youzan", 1)
    assert events(caplog) == []


def untracked(table: Mapping[str, str]) -> set[str]:
    found = set()
    for name in table.values():
        try:
            carrier(name)
        except UnknownCarrierError:
            found.add(name)
    return found


def test_only_the_documented_companies_are_untracked() -> None:
    """A misspelt name in a table would silently drop every waybill of that carrier."""
    assert untracked(PDD) == {"安能快递", "安能快运"}
    assert untracked(JD) == set()
    assert untracked(YOUZAN) == set()
