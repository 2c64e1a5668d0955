"""淘宝/天猫 adapter: documented payloads -> canonical orders, statuses, signatures, polling."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from core.errors import InvalidOrderError, UnknownStatusError
from core.order import InvoiceKind
from core.privacy import needs_decryption
from core.states import OrderState as S
from integrations.channels import taobao
from integrations.channels.base import ChannelAuthError, ChannelPayloadError, ShopCredentials
from integrations.channels.taobao import api
from integrations.channels.taobao.statuses import TRADE_STATUS
from integrations.channels.webhook import read_request
from tests.fakes.channels import taobao as fake
from tests.fakes.channels import webhook_request as req

DATA = Path(__file__).parents[2] / "data" / "channels" / "taobao"
NOW = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_single_line_increment_response() -> None:
    [order] = taobao.parse(load("increment_single_line.json"))
    assert order.channel_order_id == "3849562017384920183"  # > 2**53, exact
    assert order.status is S.PAID and order.channel_status == "WAIT_SELLER_SEND_GOODS"
    assert order.created_at == datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
    assert order.paid_at == datetime(2026, 1, 2, 2, 1, 30, tzinfo=UTC)
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (19900, 18900, 1000)
    [line] = order.lines
    assert (line.sku, line.channel_sku_id, line.quantity) == ("SOFA-GRY-3", "4987654321012", 1)
    assert (line.unit_price_fen, line.paid_fen) == (19900, 17900)
    assert order.remark == "请周末送货"
    assert order.invoice is not None and order.invoice.kind is InvoiceKind.COMPANY
    assert order.invoice.title == "杭州某某家居有限公司"
    assert order.receiver.city == "杭州市" and order.receiver.district == "西湖区"
    assert not order.presale and not needs_decryption(order.receiver)


def test_multi_line_fullinfo_with_refund_and_masked_receiver() -> None:
    [order] = taobao.parse(load("fullinfo_multi_line_refund_masked.json").decode())
    assert order.status is S.AFTER_SALE  # one line has a refund waiting for the seller
    assert [line.sku for line in order.lines] == ["BABY-BOTTLE-240", "BABY-WASH-500",
                                                  "5012345678999"]
    assert [line.channel_sku_id for line in order.lines] == ["5012345678901", None,
                                                             "5012345678999"]
    assert sum(line.paid_fen for line in order.lines) == order.paid_fen == 35750
    assert order.receiver.name == "李**" and order.receiver.phone == "*******5678"
    assert order.receiver.city == "济源市" and order.receiver.district is None
    assert needs_decryption(order.receiver)
    assert order.remark is None and order.invoice is None


def test_presale_deposit_paid_with_encrypted_receiver() -> None:
    [order] = taobao.parse(json.loads(load("sold_get_presale_encrypted.json")))
    assert order.presale and order.status is S.DEPOSIT_PAID
    assert order.paid_fen == 30000 and order.total_fen == 299900
    assert order.receiver.name == "~Sk5WjyMJkbnC5ZfA2wUmSQ==~1pVMVD7bK1~1~~"
    assert needs_decryption(order.receiver)
    assert order.invoice is not None and order.invoice.kind is InvoiceKind.PERSONAL
    assert order.channel_order_id == "1987654321098765432"


def test_bare_trade_and_simplified_list() -> None:
    trade = json.loads(load("increment_single_line.json"))[
        "trades_sold_increment_get_response"]["trades"]["trade"][0]
    assert taobao.parse(trade)[0].channel_order_id == "3849562017384920183"
    simplified = {"trades_sold_get_response": {"trades": [trade], "total_results": 1}}
    assert len(taobao.parse(simplified)) == 1
    assert taobao.parse({"trades_sold_get_response": {"total_results": 0}}) == []


@pytest.mark.parametrize(("word", "state"), sorted(TRADE_STATUS.items()))
def test_every_documented_status_maps(word: str, state: S) -> None:
    assert taobao.statuses.map(word) is state


def test_unknown_status_raises() -> None:
    with pytest.raises(UnknownStatusError):
        taobao.statuses.map("TRADE_REFUND")
    trade = _trade()
    trade["status"] = "SOMETHING_NEW"
    with pytest.raises(UnknownStatusError):
        taobao.parse(trade)


def _trade() -> dict[str, Any]:
    doc = json.loads(load("increment_single_line.json"))
    return dict(doc["trades_sold_increment_get_response"]["trades"]["trade"][0])


@pytest.mark.parametrize(("field", "value", "where"), [
    ("created", "2026/01/02", "$.created"),
    ("payment", "12.345", "$.payment"),
    ("orders", {"order": [{"num": 1, "price": "1.00", "payment": "1.00"}]}, "$.orders.order[0]"),
    ("orders", {"order": [{"sku_id": "1", "num": 0, "price": "1", "payment": "1"}]},
     "$.orders.order[0].num"),
])  # fmt: skip
def test_malformed_payload_names_the_path(field: str, value: object, where: str) -> None:
    trade = _trade()
    trade[field] = value
    with pytest.raises((InvalidOrderError, ChannelPayloadError)) as caught:
        taobao.parse(trade)
    assert where in str(caught.value)


def test_float_id_and_garbage_are_refused() -> None:
    with pytest.raises(ChannelPayloadError, match=r"\$\.tid: id given as a float"):
        taobao.parse(b'{"tid": 3849562017384920183.0, "status": "WAIT_BUYER_PAY"}')
    with pytest.raises(ChannelPayloadError, match=r"\$: not JSON"):
        taobao.parse(b"{not json")
    with pytest.raises(ChannelPayloadError, match="App Call Limited"):
        taobao.parse(load("error_throttled.json"))


def test_request_signing_matches_documented_vectors() -> None:
    params = {"method": "taobao.item.seller.get", "app_key": "12345678", "session": "test",
              "timestamp": "2016-01-01 12:00:00", "format": "json", "v": "2.0",
              "sign_method": "md5", "fields": "num_iid,title,nick,price,num",
              "num_iid": "11223344"}
    assert taobao.sign_request(params, "helloworld") == "66987CB115214E59E6EC978214934FB8"
    params = {"method": "taobao.user.seller.get", "timestamp": "2013-05-06 13:52:03",
              "format": "xml", "app_key": "test", "v": "2.0", "fields": "nick",
              "sign_method": "md5", "session": "test"}
    assert taobao.sign_request(params, "test") == "72CB4D809B375A54502C09360D879C64"
    assert len(taobao.sign_request(params, "test", "hmac-sha256")) == 64


def test_webhook_signature_accepts_genuine_and_rejects_forgeries() -> None:
    query, body = fake.signed_push({"trade_fullinfo_get_response": {"trade": _trade()}},
                                   "app1", "s3cret", NOW)
    assert taobao.verify_webhook(req(body, query=query), "s3cret")
    assert not taobao.verify_webhook(req(body.replace(b"189.00", b"1.00"), query=query), "s3cret")
    assert not taobao.verify_webhook(req(body, query=query), "other-secret")
    assert not taobao.verify_webhook(req(body, query={**query, "sign": "0" * 32}), "s3cret")
    unsigned = {k: v for k, v in query.items() if k != "sign"}
    assert not taobao.verify_webhook(req(body, query=unsigned), "s3cret")
    assert not taobao.verify_webhook(req(body, headers=query), "s3cret")  # query, not headers


def _shop(base: str) -> ShopCredentials:
    return ShopCredentials(channel="taobao", shop_id="shop-1", app_key="app1",
                           app_secret="s3cret", access_token="session-1", api_base=base)


def _trades(count: int) -> list[dict[str, Any]]:
    base = _trade()
    return [{**base, "tid": 3849562017384920000 + i,
             "modified": f"2026-01-02 {10 + i // 60}:{i % 60:02d}:00"} for i in range(count)]


async def test_fetch_since_pages_a_real_http_fake() -> None:
    app = fake.make_app("app1", "s3cret", _trades(120), throttle_first=True)
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as s:
        start = datetime(2026, 1, 2, 2, 10, tzinfo=UTC)  # 10:10 Beijing time
        end = datetime(2026, 1, 2, 3, 59, 59, tzinfo=UTC)
        pages = [page async for page in api.fetch_since(
            s, _shop(str(server.make_url("/router/rest"))), start, end)]
    tids = [str(t["tid"]) for page in pages for t in page]
    assert sorted(tids) == [str(3849562017384920000 + i) for i in range(10, 120)]
    orders = [o for page in pages for o in taobao.parse({"trades_sold_get_response": {
        "trades": {"trade": page}}})]
    assert len(orders) == 110
    # throttled once (retried), page 1 for the total, then the last page back to the first
    assert [c["page_no"] for c in app[fake.CALLS]] == ["1", "1", "3", "2", "1"]


async def test_fetch_since_reports_bad_credentials() -> None:
    app = fake.make_app("app1", "s3cret", _trades(1))
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as s:
        shop = ShopCredentials(channel="taobao", shop_id="x", app_key="app1",
                               app_secret="wrong", api_base=str(server.make_url("/router/rest")))
        with pytest.raises(ChannelAuthError, match="Invalid signature"):
            _ = [page async for page in api.fetch_since(s, shop, NOW, NOW.replace(hour=4))]


async def test_push_reaches_an_intake_that_verifies_and_parses() -> None:
    received: list[str] = []

    async def intake(request: web.Request) -> web.Response:
        push = await read_request(request, NOW)
        if not taobao.verify_webhook(push, "s3cret"):
            return web.Response(status=401)
        received.extend(o.channel_order_id for o in taobao.parse_push(push, "s3cret").orders)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/taobao", intake)
    async with TestServer(app, host="127.0.0.1", port=0) as server:
        url = str(server.make_url("/webhooks/taobao"))
        payload = {"trade_fullinfo_get_response": {"trade": _trade()}}
        assert await fake.push(url, payload, app_key="app1", secret="s3cret", now=NOW) == 200
        assert await fake.push(url, payload, app_key="app1", secret="forged", now=NOW) == 401
    assert received == ["3849562017384920183"]
