"""京东 adapter: documented samples, statuses, JOS sign (official vector), push, polling."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from core.errors import InvalidOrderError, UnknownStatusError
from core.order import InvoiceKind
from core.privacy import needs_decryption
from core.states import OrderState
from integrations.channels import jd
from integrations.channels.base import ChannelAuthError, ChannelPayloadError, ShopCredentials
from integrations.channels.jd.api import build_request, fetch_orders, fetch_since
from integrations.channels.jd.signing import sign
from tests.fakes.channels import webhook_request as req
from tests.fakes.channels.jd import FakeJos, push_body

DATA = Path(__file__).parents[2] / "data" / "channels" / "jd"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text("utf-8"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_search_single_line_with_company_invoice() -> None:
    first, _ = jd.parse((DATA / "pop_order_search_single_line_and_locked.json").read_bytes())
    assert (first.channel, first.channel_order_id) == ("jd", "298765432101")
    assert first.status is OrderState.PAID and first.channel_status == "WAIT_SELLER_STOCK_OUT"
    assert first.created_at == utc(2026, 1, 5, 6, 20, 5)
    assert first.paid_at == utc(2026, 1, 5, 6, 20, 31)
    assert (first.total_fen, first.paid_fen, first.freight_fen) == (26800, 26800, 0)
    assert first.remark == "请开专票"
    assert first.invoice is not None and first.invoice.kind is InvoiceKind.COMPANY
    assert first.invoice.tax_id == "91310000MA1FL0XXXX"
    assert first.buyer_id == "o1Ab2Cd3Ef4Gh5Ij"
    assert first.receiver.phone == "13800138000" and first.receiver.district == "天河区"
    (line,) = first.lines
    assert (line.sku, line.channel_sku_id, line.quantity, line.paid_fen) == (
        "BRK-PAD-F01", "100023456789", 1, 26800)


def test_locked_order_is_after_sale_with_masked_receiver() -> None:
    _, second = jd.parse(load("pop_order_search_single_line_and_locked.json"))
    assert second.status is OrderState.AFTER_SALE and second.channel_status == "LOCKED"
    assert second.receiver.name == "张**" and needs_decryption(second.receiver)
    assert second.lines[0].sku == "100023456790"  # no outerSkuId: the JD sku id stands in
    assert second.lines[0].paid_fen == 9100


def test_get_multi_line() -> None:
    (order,) = jd.parse(load("pop_order_get_multi_line.json"))
    assert order.status is OrderState.LABEL_PRINTED
    assert [(x.sku, x.quantity, x.unit_price_fen) for x in order.lines] == [
        ("WIPER-24", 2, 5900), ("WIPER-18", 1, 4900), ("100023456793", 3, 1590)]
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (21470, 22470, 1000)
    assert order.invoice is None and order.remark is None


def test_push_form_with_cancelled_unpaid_order() -> None:
    body = (DATA / "push_form_cancelled_masked.txt").read_bytes()
    assert jd.verify_webhook(req(body), "yourappSecret")
    (order,) = jd.parse(body)
    assert order.status is OrderState.CANCELLED and order.paid_at is None
    assert order.paid_fen == 0 and needs_decryption(order.receiver)


def test_id_only_push_gives_the_id_to_fetch() -> None:
    body = push_body({"orderId": 298765432199})
    assert jd.verify_webhook(req(body), "secret")
    assert jd.parse_push(req(body), "secret").order_ids == ("298765432199",)
    with pytest.raises(ChannelPayloadError, match="only order id 298765432199"):
        jd.parse(body)


def test_full_push_gives_the_order() -> None:
    body = (DATA / "push_form_cancelled_masked.txt").read_bytes()
    (order,) = jd.parse_push(req(body), "yourappSecret").orders
    assert order.status is OrderState.CANCELLED


def test_bare_order_object() -> None:
    bare = load("pop_order_get_multi_line.json")["jingdong_pop_order_get_responce"][
        "orderDetailInfo"]["orderInfo"]
    assert jd.parse(bare)[0].channel_order_id == "298765432103"


@pytest.mark.parametrize(("word", "state"), sorted(jd.statuses.table.items()))
def test_every_documented_status_maps(word: str, state: OrderState) -> None:
    assert jd.statuses.map(word) is state


@pytest.mark.parametrize("word", ["SEND_TO_DISTRIBUTION_CENER", "DISTRIBUTION_CENTER_RECEIVED",
                                  "WAIT_GOODS_RECEIVE_CONFIRM"])
def test_shipment_words_are_label_printed_never_a_carrier_scan(word: str) -> None:
    assert jd.statuses.map(word) is OrderState.LABEL_PRINTED


def test_unknown_status_raises() -> None:
    doc = load("pop_order_get_multi_line.json")
    doc["jingdong_pop_order_get_responce"]["orderDetailInfo"]["orderInfo"]["orderState"] = "NEW"
    with pytest.raises(UnknownStatusError, match="'NEW'"):
        jd.parse(doc)


def _mutated(mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(load("pop_order_get_multi_line.json"))
    mutate(doc["jingdong_pop_order_get_responce"]["orderDetailInfo"]["orderInfo"])
    return doc


@pytest.mark.parametrize(("mutate", "error", "path"), [
    (lambda o: o.pop("orderId"), ChannelPayloadError, "orderInfo.orderId"),
    (lambda o: o.update(itemInfoList={}), ChannelPayloadError, "orderInfo.itemInfoList"),
    (lambda o: o["itemInfoList"][1].update(jdPrice="-1"), InvalidOrderError,
     r"itemInfoList\[1\].jdPrice"),
    (lambda o: o.update(orderStartTime="yesterday"), InvalidOrderError, "orderStartTime"),
    (lambda o: o["itemInfoList"][0].pop("skuId"), ChannelPayloadError, "skuId"),
])
def test_malformed_payload_names_the_path(mutate: Any, error: type[Exception], path: str) -> None:
    with pytest.raises(error, match=path):
        jd.parse(_mutated(mutate))


def test_error_envelopes_are_payload_errors() -> None:
    with pytest.raises(ChannelPayloadError, match="19"):
        jd.parse({"error_response": {"code": "19", "zh_desc": "无效access_token"}})
    failed = load("pop_order_search_single_line_and_locked.json")
    failed["jingdong_pop_order_search_responce"]["searchorderinfo_result"]["apiResult"][
        "success"] = False
    with pytest.raises(ChannelPayloadError, match="apiResult"):
        jd.parse(failed)


def test_ids_above_2_53_stay_exact_and_float_ids_are_refused() -> None:
    big = 2**53 + 12345
    raw = json.dumps(_mutated(lambda o: o.update(orderId=big))).encode()
    assert jd.parse(raw)[0].channel_order_id == str(big)
    with pytest.raises(ChannelPayloadError, match="float"):
        jd.parse(raw.replace(str(big).encode(), b"9007199254753337.0"))


def test_official_jos_sign_vector() -> None:
    # JOS 开发者指南 (open.jd.com/v2/#/doc/dev-guide?listId=2643) worked example.
    params = {
        "360buy_param_json": '{"end_date":null,"optional_fields":null,"order_state":'
                             '"WAIT_SELLER_STOCK_OUT","page":"1","page_size":"200",'
                             '"start_date":null}',
        "access_token": "yourtoken", "app_key": "yourappkey",
        "method": "jingdong.pop.order.search",
        "timestamp": "2021-05-07 09:20:39.683+0800", "v": "2.0",
    }
    assert sign(params, "yourappSecret") == "D70825340F4084360B9362B60DFD7930"
    assert jd.sign_request(params, "yourappSecret")["sign"] == "D70825340F4084360B9362B60DFD7930"


def test_build_request_is_signed_and_in_beijing_time() -> None:
    shop = ShopCredentials("jd", "10086123", "key", "secret", "token", "")
    form = build_request(shop, {"page": "1"}, utc(2026, 1, 5, 0, 0, 0))
    assert form["timestamp"] == "2026-01-05 08:00:00"
    assert form["sign"] == sign(form, "secret")


def test_push_verification_rejects_forgeries() -> None:
    body = (DATA / "push_form_cancelled_masked.txt").read_bytes()
    assert not jd.verify_webhook(req(body), "anotherSecret")
    assert not jd.verify_webhook(req(body.replace(b"70.00", b"7.00")), "yourappSecret")
    assert not jd.verify_webhook(req(b"\xff\xfe"), "yourappSecret")
    assert not jd.verify_webhook(req(b"app_key=x"), "yourappSecret")


def _orders(n: int) -> list[dict[str, Any]]:
    base = load("pop_order_get_multi_line.json")["jingdong_pop_order_get_responce"][
        "orderDetailInfo"]["orderInfo"]
    out = []
    for i in range(n):
        o = copy.deepcopy(base)
        o["orderId"] = str(298700000000 + i)
        o["modified"] = f"2026-01-05 {10 + i % 4:02d}:{i % 60:02d}:00"
        out.append(o)
    return out


async def test_fetch_since_against_fake_jos_with_throttle() -> None:
    fake = FakeJos(_orders(250), throttle_once=True)
    async with TestServer(fake.app, host="127.0.0.1", port=0) as server:
        shop = ShopCredentials("jd", "10086123", "key", "secret", "token",
                               str(server.make_url("")).rstrip("/"))
        async with aiohttp.ClientSession() as session:
            pages = [p async for p in fetch_since(session, shop, utc(2026, 1, 5, 2),
                                                  utc(2026, 1, 5, 4, 59, 59))]
            ids = [jd.parse(o)[0].channel_order_id for page in pages for o in page]
            assert len(ids) == len(set(ids)) == 250 - 250 // 4
            assert fake.calls[0]["start_date"] == "2026-01-05 10:00:00"
            bad = ShopCredentials("jd", "10086123", "key", "secret", "expired", shop.api_base)
            with pytest.raises(ChannelAuthError):
                _ = [p async for p in fetch_since(session, bad, utc(2026, 1, 5),
                                                  utc(2026, 1, 6))]


async def test_id_only_push_is_fetched_with_order_get() -> None:
    fake = FakeJos(_orders(3))
    ids = jd.parse_push(req(push_body({"orderId": 298700000001})), "secret").order_ids
    async with TestServer(fake.app, host="127.0.0.1", port=0) as server:
        shop = ShopCredentials("jd", "10086123", "key", "secret", "token",
                               str(server.make_url("")).rstrip("/"))
        async with aiohttp.ClientSession() as session:
            raw = await fetch_orders(session, shop, ids)
            with pytest.raises(ChannelPayloadError, match="订单不存在"):
                await fetch_orders(session, shop, ["1"])
    assert [o.channel_order_id for r in raw for o in jd.parse(r)] == ["298700000001"]
    assert fake.calls[0]["order_id"] == "298700000001"
