"""Wrap a rendered order the way each platform pushes it, and sign it with the adapter's own
signing functions (so a demo push is verified exactly like a real one, never waved through).

The shop's ``webhook_secret`` is what the intake verifies with: 有赞 ``CLIENT_ID:CLIENT_SECRET``
(``Event-Sign`` header and body ``sign``), 淘宝 奇门 (query ``sign`` over query + body), 京东
(JOS sign over the form fields), 拼多多 (POP sign in headers), POS (HMAC-SHA256 headers).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

from bot.config import ShopConfig
from bot.demo import platforms
from bot.demo.generator import DemoOrder, Stage
from integrations.channels.jd.signing import sign_request as jd_sign
from integrations.channels.pdd.signing import sign_push as pdd_sign
from integrations.channels.pos.signing import sign_request as pos_sign
from integrations.channels.taobao.signing import sign_qimen
from integrations.channels.youzan.signing import push_sign, split_secret

JSON = "application/json"
# 有赞 push ``type`` per step (消息推送: trade_TradeBuyerPay is the presale deposit message).
YOUZAN_TYPES = {Stage.DEPOSIT_PAID: "trade_TradeBuyerPay", Stage.PAID: "trade_TradePaid",
                Stage.SHIPPED: "trade_TradeSellerShip"}


@dataclass(frozen=True, slots=True)
class SignedPush:
    """One HTTP push: POST ``body`` with ``headers`` to the webhook URL plus ``query``."""

    body: bytes
    headers: Mapping[str, str]
    query: Mapping[str, str] = field(default_factory=dict)


def _json(doc: object) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def youzan(order: DemoOrder, doc: Any, shop: ShopConfig, now: datetime) -> SignedPush:
    client_id, client_secret = split_secret(shop.webhook_secret)
    msg = quote_plus(json.dumps({"full_order_info": doc}, ensure_ascii=False))
    kind = YOUZAN_TYPES[order.stage]
    body = _json({
        "client_id": client_id, "id": order.order_id,
        "kdt_id": platforms.platform_id(shop.shop_id, 8), "kdt_name": "演示店铺", "mode": 1,
        "msg": msg, "sendCount": 0, "sign": push_sign(client_id, msg, client_secret),
        "test": False, "type": kind, "status": doc["order_info"]["status"],
        "version": int(now.timestamp()),
        "msg_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{order.order_id}:{kind}"))})
    headers = {"Content-Type": JSON, "Client-Id": client_id, "Event-Type": kind,
               "Event-Sign": push_sign(client_id, body, client_secret)}
    return SignedPush(body, headers)


def taobao(order: DemoOrder, doc: Any, shop: ShopConfig, now: datetime) -> SignedPush:
    body = _json(doc)
    query = {"method": "taobao.trade.fullinfo.get", "app_key": shop.app_key, "format": "json",
             "v": "2.0", "sign_method": "md5", "customerId": shop.shop_id,
             "timestamp": platforms.beijing(now)}
    query["sign"] = sign_qimen(query, body, shop.webhook_secret)
    return SignedPush(body, {"Content-Type": JSON}, query)


def jd(order: DemoOrder, doc: Any, shop: ShopConfig, now: datetime) -> SignedPush:
    fields = {"app_key": shop.app_key, "token": "demo", "timestamp": platforms.beijing(now),
              "format": "json", "v": "1.0", "jd_param_json": json.dumps(doc, ensure_ascii=False)}
    body = urlencode(jd_sign(fields, shop.webhook_secret)).encode()
    return SignedPush(body, {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"})


def pdd(order: DemoOrder, doc: Any, shop: ShopConfig, now: datetime) -> SignedPush:
    body, timestamp = _json(doc), str(int(now.timestamp()))
    headers = {"Content-Type": JSON, "client-id": shop.app_key, "timestamp": timestamp,
               "sign": pdd_sign(shop.app_key, timestamp, body, shop.webhook_secret)}
    return SignedPush(body, headers)


def pos(order: DemoOrder, doc: Any, shop: ShopConfig, now: datetime) -> SignedPush:
    body = str(doc).encode()
    headers = {"Content-Type": "text/csv; charset=utf-8",
               **pos_sign(body, shop.webhook_secret, now.timestamp())}
    return SignedPush(body, headers)


_WRAP: dict[str, Callable[[DemoOrder, Any, ShopConfig, datetime], SignedPush]] = {
    "youzan": youzan, "taobao": taobao, "jd": jd, "pdd": pdd, "pos": pos}


def signed_push(order: DemoOrder, shop: ShopConfig, now: datetime) -> SignedPush:
    """``order`` rendered in its channel's shape, wrapped and signed for ``shop``."""
    if shop.channel != order.channel:
        raise ValueError(f"a {order.channel} order cannot be pushed as {shop.channel}")
    return _WRAP[order.channel](order, platforms.RENDER[order.channel](order), shop, now)
