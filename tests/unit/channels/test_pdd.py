"""拼多多 adapter: documented payloads -> canonical orders, statuses, signatures, polling."""

from __future__ import annotations

import hashlib
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
from integrations.channels import pdd, windows
from integrations.channels.base import ChannelAuthError, ChannelPayloadError, ShopCredentials
from integrations.channels.pdd import api
from integrations.channels.pdd.statuses import (
    CONFIRM_STATUS,
    ORDER_STATUS,
    REFUND_STATUS,
    STEP_TRADE_STATUS,
)
from integrations.channels.webhook import read_request
from tests.fakes.channels import pdd as fake
from tests.fakes.channels import webhook_request as req

DATA = Path(__file__).parents[2] / "data" / "channels" / "pdd"
NOW = datetime(2026, 1, 2, 3, 0, tzinfo=UTC)


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def _order() -> dict[str, Any]:
    doc = json.loads(load("increment_single_line.json"))
    return dict(doc["order_sn_increment_get_response"]["order_sn_list"][0])


def test_single_line_increment() -> None:
    [order] = pdd.parse(load("increment_single_line.json"))
    assert order.channel_order_id == "260102-318274650192837"
    assert order.status is S.PAID and order.channel_status == "1"
    assert order.created_at == datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (3990, 4190, 500)
    [line] = order.lines
    assert (line.sku, line.channel_sku_id) == ("PAD-FRONT-01", "1234567890123456789")
    assert (line.quantity, line.unit_price_fen, line.paid_fen) == (1, 3990, 3990)
    assert order.receiver.district == "工业园区" and order.receiver.address == "星湖街328号"
    assert order.remark == "不要放驿站" and order.invoice is None and not order.presale


def test_multi_line_encrypted_refunding_with_invoice() -> None:
    [order] = pdd.parse(load("information_multi_line_encrypted_refunding.json").decode())
    assert order.status is S.AFTER_SALE  # 已发货 but refund_status 3 退款中
    assert [line.sku for line in order.lines] == ["BOWL-STEEL-S", "900000000002",
                                                  "MAT-SILICONE"]
    assert [line.quantity for line in order.lines] == [2, 1, 2]
    assert order.paid_fen == 15000 and order.total_fen == 15800
    assert order.receiver.name is not None and order.receiver.name.startswith("~AgAAAAHm")
    assert needs_decryption(order.receiver)
    assert order.invoice is not None and order.invoice.kind is InvoiceKind.PERSONAL


def test_presale_deposit_paid_masked() -> None:
    [order] = pdd.parse(json.loads(load("list_presale_deposit_masked.json")))
    assert order.presale and order.status is S.DEPOSIT_PAID
    assert order.paid_fen == 10000 and order.total_fen == 129900
    assert order.receiver.phone == "1387677****" and needs_decryption(order.receiver)


@pytest.mark.parametrize(("code", "state"), sorted(ORDER_STATUS.items()))
def test_every_order_status_maps(code: str, state: S) -> None:
    assert pdd.statuses.map(int(code)) is state


@pytest.mark.parametrize(("field", "table"), [
    ("refund_status", REFUND_STATUS), ("confirm_status", CONFIRM_STATUS)])
def test_every_refund_and_confirm_status_maps(field: str, table: dict[str, Any]) -> None:
    for code, override in table.items():
        [order] = pdd.parse({**_order(), field: int(code)})
        assert order.status is (override or S.PAID)


def test_every_step_trade_status_maps() -> None:
    for code, override in STEP_TRADE_STATUS.items():
        step = {"step_trade_status": int(code), "step_paid_fee": "10.00"}
        [order] = pdd.parse({**_order(), "trade_type": 1, "step_order_info": step})
        assert order.status is (override or S.PAID) and order.presale


@pytest.mark.parametrize(("field", "value"), [
    ("order_status", 9), ("refund_status", 7), ("confirm_status", 5), ("invoice_status", 3)])
def test_unknown_status_raises(field: str, value: int) -> None:
    with pytest.raises(UnknownStatusError):
        pdd.parse({**_order(), field: value})


@pytest.mark.parametrize(("field", "value", "where"), [
    ("created_time", 1767319200, "$.created_time"),
    ("pay_amount", "41.905", "$.pay_amount"),
    ("item_list", [{"goods_count": 1, "goods_price": 1}], "$.item_list[0]"),
    ("item_list", [{"sku_id": 1, "goods_count": -1, "goods_price": 1}],
     "$.item_list[0].goods_count"),
])  # fmt: skip
def test_malformed_payload_names_the_path(field: str, value: object, where: str) -> None:
    with pytest.raises((InvalidOrderError, ChannelPayloadError)) as caught:
        pdd.parse({**_order(), field: value})
    assert where in str(caught.value)


def test_ids_keep_precision_and_floats_are_refused() -> None:
    text = load("increment_single_line.json").decode()
    assert pdd.parse(text)[0].lines[0].channel_sku_id == "1234567890123456789"
    with pytest.raises(ChannelPayloadError, match=r"sku_id: id given as a float"):
        pdd.parse(text.replace("1234567890123456789", "1234567890123456789.0"))
    with pytest.raises(ChannelPayloadError, match="70031"):
        pdd.parse(load("error_throttled.json"))


def test_request_signing_is_the_documented_md5() -> None:
    params = {"type": "pdd.order.number.list.get", "client_id": "testClientId",
              "timestamp": "1480411125", "data_type": "JSON", "order_status": "1",
              "page": "1", "page_size": "10"}
    joined = ("testSecretclient_idtestClientIddata_typeJSONorder_status1page1page_size10"
              "timestamp1480411125typepdd.order.number.list.gettestSecret")
    assert pdd.sign_request(params, "testSecret") == hashlib.md5(
        joined.encode()).hexdigest().upper()
    assert pdd.sign_request({**params, "sign": "ignored"}, "testSecret") == pdd.sign_request(
        params, "testSecret")


def test_webhook_signature() -> None:
    headers, body = fake.signed_push(_order(), "cid", "secret", NOW)
    assert pdd.verify_webhook(req(body, headers=headers), "secret")
    assert not pdd.verify_webhook(req(body.replace(b"41.9", b"1.9"), headers=headers), "secret")
    assert not pdd.verify_webhook(req(body, headers=headers), "other")
    assert not pdd.verify_webhook(req(body, headers={**headers, "timestamp": "1"}), "secret")
    assert not pdd.verify_webhook(req(body, headers={**headers, "sign": "0" * 32}), "secret")


def _orders(count: int) -> list[dict[str, Any]]:
    base = _order()
    return [{**base, "order_sn": f"260102-{318274650100000 + i}",
             "updated_at": f"2026-01-02 10:{i // 60:02d}:{i % 60:02d}"} for i in range(count)]


def _shop(base: str, secret: str = "secret") -> ShopCredentials:
    return ShopCredentials(channel="pdd", shop_id="mall-1", app_key="cid", app_secret=secret,
                           access_token="token-1", api_base=base)


async def test_fetch_since_pages_a_real_http_fake() -> None:
    app = fake.make_app("cid", "secret", _orders(300), throttle_first=True)
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as s:
        start = datetime(2026, 1, 2, 2, 0, 10, tzinfo=UTC)
        end = datetime(2026, 1, 2, 2, 4, 9, tzinfo=UTC)  # 10:00:10 .. 10:04:09 Beijing
        url = str(server.make_url("/api/router"))
        pages = [p async for p in api.fetch_since(s, _shop(url), start, end)]
    sns = sorted(o["order_sn"] for page in pages for o in page)
    assert sns == [f"260102-{318274650100000 + i}" for i in range(10, 250)]
    orders = [o for page in pages for o in pdd.parse(
        {"order_sn_increment_get_response": {"order_sn_list": page}})]
    assert len(orders) == 240
    assert [c["page"] for c in app[fake.CALLS]] == ["1", "1", "3", "2", "1"]


async def test_fetch_since_reports_bad_credentials() -> None:
    app = fake.make_app("cid", "secret", _orders(1))
    async with TestServer(app, host="127.0.0.1", port=0) as server, aiohttp.ClientSession() as s:
        url = str(server.make_url("/api/router"))
        end = NOW.replace(minute=5)
        with pytest.raises(ChannelAuthError, match="10019"):
            _ = [p async for p in api.fetch_since(s, _shop(url, "wrong"), NOW, end)]


def test_windows_respect_the_30_minute_limit() -> None:
    slices = windows.slices(NOW, NOW.replace(hour=4, minute=10), api.MAX_WINDOW)
    assert len(slices) == 3 and all(b - a <= api.MAX_WINDOW for a, b in slices)


async def test_push_reaches_an_intake_that_verifies_and_parses() -> None:
    received: list[str] = []

    async def intake(request: web.Request) -> web.Response:
        push = await read_request(request, NOW)
        if not pdd.verify_webhook(push, "secret"):
            return web.Response(status=401)
        received.extend(o.channel_order_id for o in pdd.parse_push(push, "secret").orders)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/webhooks/pdd", intake)
    async with TestServer(app, host="127.0.0.1", port=0) as server:
        url = str(server.make_url("/webhooks/pdd"))
        assert await fake.push(url, _order(), client_id="cid", secret="secret", now=NOW) == 200
        assert await fake.push(url, _order(), client_id="cid", secret="nope", now=NOW) == 401
    assert received == ["260102-318274650192837"]
