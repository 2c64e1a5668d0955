"""微信小店 adapter: documented samples, statuses, push crypto, polling against a fake."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from core.errors import InvalidOrderError, UnknownStatusError
from core.privacy import needs_decryption
from core.states import OrderState
from integrations.channels import wechat_shop
from integrations.channels.base import ChannelAuthError, ChannelPayloadError, ShopCredentials
from integrations.channels.wechat_shop.api import fetch_orders, fetch_since
from integrations.channels.wechat_shop.envelope import order_ids
from integrations.channels.wechat_shop.signing import decrypt, encrypt, msg_signature
from tests.fakes.channels import webhook_request as req
from tests.fakes.channels.wechat_shop import FakeWechatShop, encrypted_push

DATA = Path(__file__).parents[2] / "data" / "channels" / "wechat_shop"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
SECRET = f"AAAAA:{AES_KEY}:wxappid"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text("utf-8"))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_single_line_order_get() -> None:
    (order,) = wechat_shop.parse((DATA / "order_get_single_line.json").read_bytes())
    assert order.channel_order_id == "3705115058471208928"  # > 2^53, exact
    assert order.status is OrderState.PAID and order.channel_status == "20"
    assert order.created_at == utc(2026, 1, 5, 2, 20) and order.paid_at == utc(2026, 1, 5, 2, 21)
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (8900, 8900, 0)
    assert order.remark == "发顺丰" and order.invoice is None and not order.presale
    assert order.buyer_id == "o-OPENID-xyz" and order.receiver.city == "广州市"
    (line,) = order.lines
    assert (line.sku, line.channel_sku_id, line.paid_fen) == ("TEE-WHT-M", "2000012345", 8900)


def test_multi_line_masked_with_open_aftersale() -> None:
    (order,) = wechat_shop.parse(load("order_get_multi_line_masked_aftersale.json"))
    assert order.status is OrderState.AFTER_SALE and order.channel_status == "30"
    assert [x.sku for x in order.lines] == ["JEANS-32", "2000012347"]
    assert [x.paid_fen for x in order.lines] == [29800, 0]
    assert (order.total_fen, order.paid_fen, order.freight_fen) == (32800, 30300, 500)
    assert order.receiver.name == "陈**" and needs_decryption(order.receiver)


def test_full_payment_presale() -> None:
    (order,) = wechat_shop.parse(load("order_get_presale.json"))
    assert order.presale and order.status is OrderState.PAID


def test_list_and_push_carry_ids_only() -> None:
    listing = (DATA / "order_list_get.json").read_bytes()
    with pytest.raises(ChannelPayloadError, match=r"only order ids \(3705115058471208928, "):
        wechat_shop.parse(listing)
    assert order_ids(listing) == ["3705115058471208928", "3705115058471208931"]
    pushed = (DATA / "push_order_pay_decrypted.json").read_bytes()
    with pytest.raises(ChannelPayloadError, match="only order ids"):
        wechat_shop.parse(pushed)
    assert wechat_shop.parse_push(req(pushed), SECRET).order_ids == ("3705115058471208928",)


def test_bare_order_and_unpaid_cancel() -> None:
    bare = copy.deepcopy(load("order_get_single_line.json")["order"])
    bare.update(status=250)
    bare["order_detail"]["pay_info"]["pay_time"] = 0
    (order,) = wechat_shop.parse(bare)
    assert order.status is OrderState.CANCELLED and order.paid_fen == 0 and order.paid_at is None


@pytest.mark.parametrize(("word", "state"), sorted(wechat_shop.statuses.table.items()))
def test_every_documented_status_maps(word: str, state: OrderState) -> None:
    assert wechat_shop.statuses.map(int(word)) is state


def test_unknown_status_raises() -> None:
    doc = load("order_get_single_line.json")
    doc["order"]["status"] = 11
    with pytest.raises(UnknownStatusError, match="'11'"):
        wechat_shop.parse(doc)


@pytest.mark.parametrize(("mutate", "error", "path"), [
    (lambda o: o.pop("order_id"), ChannelPayloadError, r"\$.order.order_id"),
    (lambda o: o.pop("order_detail"), ChannelPayloadError, "order.order_detail"),
    (lambda o: o["order_detail"]["product_infos"][0].update(sale_price="89.00"),
     InvalidOrderError, r"product_infos\[0\].sale_price"),
    (lambda o: o["order_detail"]["price_info"].update(order_price=-1), InvalidOrderError,
     "price_info.order_price"),
    (lambda o: o.update(create_time="yesterday"), InvalidOrderError, "create_time"),
])
def test_malformed_payload_names_the_path(mutate: Any, error: type[Exception], path: str) -> None:
    doc = copy.deepcopy(load("order_get_single_line.json"))
    mutate(doc["order"])
    with pytest.raises(error, match=path):
        wechat_shop.parse(doc)


def test_float_order_id_is_refused_and_error_envelope_is_payload_error() -> None:
    raw = (DATA / "order_get_single_line.json").read_bytes()
    with pytest.raises(ChannelPayloadError, match="float"):
        wechat_shop.parse(raw.replace(b"3705115058471208928", b"3.705115058471209e18"))
    with pytest.raises(ChannelPayloadError, match="45011"):
        wechat_shop.parse({"errcode": 45011, "errmsg": "api minute-quota reach limit"})


def test_official_signature_vector() -> None:
    # 消息推送 document: Token AAAAA, timestamp 1714036504, nonce 1514711492.
    assert msg_signature("AAAAA", "1714036504", "1514711492") == (
        "f464b24fc39322e44b38aa78f5edd27bd1441696")


def test_push_verify_and_decrypt_roundtrip() -> None:
    message = load("push_order_pay_decrypted.json")
    query, body = encrypted_push(message, SECRET)
    push = req(body, query=query)
    assert wechat_shop.verify_webhook(push, SECRET)
    assert order_ids(wechat_shop.decrypt_push(push, SECRET)) == ["3705115058471208928"]
    assert wechat_shop.parse_push(push, SECRET).order_ids == ("3705115058471208928",)
    assert not wechat_shop.verify_webhook(req(body, headers=query), SECRET)  # query, not headers
    with pytest.raises(ChannelPayloadError, match="encrypted push"):
        wechat_shop.parse(body)


def test_push_forgeries_are_rejected() -> None:
    query, body = encrypted_push(load("push_order_pay_decrypted.json"), SECRET)
    doc = json.loads(body)
    doc["Encrypt"] = doc["Encrypt"][:-8] + "AAAAAAA="
    assert not wechat_shop.verify_webhook(req(json.dumps(doc).encode(), query=query), SECRET)
    assert not wechat_shop.verify_webhook(req(body, query={**query, "nonce": "1"}), SECRET)
    assert not wechat_shop.verify_webhook(req(body, query={}), SECRET)
    assert not wechat_shop.verify_webhook(req(body, query=query), f"AAAAA:{AES_KEY}:otherappid")
    assert not wechat_shop.verify_webhook(req(body, query=query), f"BBBBB:{AES_KEY}")


def test_aes_layout_is_random_len_message_appid() -> None:
    key = base64.b64decode(AES_KEY + "=")
    cipher = encrypt(b'{"a":1}', key, "wxappid", b"0123456789abcdef")
    raw = base64.b64decode(cipher)
    assert len(raw) % 32 == 0
    assert decrypt(cipher, key) == (b'{"a":1}', "wxappid")


def _orders(n: int) -> list[dict[str, Any]]:
    base = load("order_get_single_line.json")["order"]
    out = []
    for i in range(n):
        o = copy.deepcopy(base)
        o["order_id"] = 3705115058471208928 + i
        o["update_time"] = 1767579600 + i * 10
        out.append(o)
    return out


async def test_fetch_since_against_fake_with_throttle_and_big_ids() -> None:
    fake = FakeWechatShop(_orders(150), throttle_once=True)
    async with TestServer(fake.app, host="127.0.0.1", port=0) as server:
        base = str(server.make_url("")).rstrip("/")
        shop = ShopCredentials("wechat_shop", "shop1", "wxappid", "secret", None, base)
        async with aiohttp.ClientSession() as session:
            pages = [p async for p in fetch_since(session, shop, utc(2026, 1, 5, 2, 20),
                                                  utc(2026, 1, 5, 2, 40))]
            ids = [wechat_shop.parse(o)[0].channel_order_id for page in pages for o in page]
            assert ids[0] == "3705115058471208928" and len(ids) == len(set(ids)) == 121
            assert fake.calls[0]["update_time_range"]["start_time"] == 1767579600
            bad = ShopCredentials("wechat_shop", "shop1", "wxappid", "secret", "stale", base)
            with pytest.raises(ChannelAuthError):
                _ = [p async for p in fetch_since(session, bad, utc(2026, 1, 5), utc(2026, 1, 6))]


async def test_push_ids_are_fetched_with_order_get() -> None:
    fake = FakeWechatShop(_orders(3))
    query, body = encrypted_push({"Event": "channels_ec_order_pay",
                                  "order_info": {"order_id": 3705115058471208930}}, SECRET)
    ids = wechat_shop.parse_push(req(body, query=query), SECRET).order_ids
    async with TestServer(fake.app, host="127.0.0.1", port=0) as server:
        base = str(server.make_url("")).rstrip("/")
        shop = ShopCredentials("wechat_shop", "shop1", "wxappid", "secret", None, base)
        async with aiohttp.ClientSession() as session:
            raw = await fetch_orders(session, shop, ids)
    assert [o.channel_order_id for r in raw for o in wechat_shop.parse(r)] == [
        "3705115058471208930"]
