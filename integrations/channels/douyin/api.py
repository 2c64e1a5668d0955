"""Polling 抖店 with ``order.searchList`` filtered by update time; ``order.orderDetail`` for the
ids a message push names (``fetch_orders``).

Request shape (抖店开放平台 order.searchList doc): ``POST {base}/order/searchList`` with the
system parameters (``app_key``, ``method``, ``access_token``, ``timestamp``, ``v=2``,
``sign_method``, ``sign``) in the query and ``param_json`` as the JSON body; business
parameters ``update_time_start``/``update_time_end`` (unix seconds), ``page`` (from 0),
``size`` (max 100), ``order_by=update_time``, ``order_asc=false``.

Pages are read from the last to the first: the list is sorted newest-update-first, so an order
updated while we page can only move items towards pages we have not read yet; a duplicate is
harmless (idempotent upsert). Envelope ``code`` 10000 is success; throttling and
authorisation failures come back in the body (``code``/``sub_code``/``msg``) and are turned
into ``RateLimitedError`` / ``ChannelAuthError`` by their documented wording.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from core.clock import require_aware
from integrations.channels.base import (
    ChannelAuthError,
    ChannelPayloadError,
    ShopCredentials,
)
from integrations.channels.douyin.mapping import SUCCESS
from integrations.channels.douyin.signing import param_json, sign_request
from integrations.channels.payload import arr, obj
from integrations.http import RateLimitedError, UpstreamError, call_with_retry, fetch_json

METHOD = "order.searchList"
DETAIL_METHOD = "order.orderDetail"
DEFAULT_API_BASE = "https://openapi-fxg.jinritemai.com"
PAGE_SIZE = 100
_THROTTLE_WORDS = ("flow-limit", "flow_control", "frequency", "limit", "限流", "频繁")
_AUTH_WORDS = ("access-token", "access_token", "invalid-sign", "sign", "授权", "token")


def build_query(shop: ShopCredentials, body: str, now: datetime,
                method: str = METHOD) -> dict[str, str]:
    """The signed system parameters of one call of ``method`` with ``body`` (param_json)."""
    timestamp = str(int(require_aware(now, "now").timestamp()))
    query = {"app_key": shop.app_key, "method": method, "access_token": shop.access_token or "",
             "timestamp": timestamp, "v": "2", "sign_method": "hmac-sha256"}
    query["sign"] = sign_request(method, body, shop.app_key, shop.app_secret, timestamp)
    return query


def check_error(doc: Mapping[str, Any]) -> None:
    code = doc.get("code")
    if code == SUCCESS:
        return
    words = f"{doc.get('sub_code') or ''} {doc.get('msg') or ''} {doc.get('sub_msg') or ''}"
    message = f"抖店 error {code} {words.strip()}"
    lowered = words.lower()
    if any(w in lowered for w in _THROTTLE_WORDS):
        raise RateLimitedError(message)
    if any(w in lowered for w in _AUTH_WORDS):
        raise ChannelAuthError(message)
    if str(doc.get("sub_code") or "").startswith("isp."):
        raise UpstreamError(message)
    raise ChannelPayloadError(f"$.code: {message}")


async def _call(session: aiohttp.ClientSession, shop: ShopCredentials,
                business: Mapping[str, object], method: str = METHOD) -> Mapping[str, Any]:
    body = param_json(business)
    url = (shop.api_base or DEFAULT_API_BASE).rstrip("/") + "/" + method.replace(".", "/")

    async def once() -> Mapping[str, Any]:
        query = build_query(shop, body, datetime.now().astimezone(), method)
        doc = obj(await fetch_json(session, "POST", url, params=query, data=body.encode(),
                                   headers={"Content-Type": "application/json"}), "$")
        check_error(doc)
        return obj(doc.get("data"), "$.data")

    return await call_with_retry(once, retry_on=(UpstreamError,))


async def fetch_since(session: aiohttp.ClientSession, shop: ShopCredentials,
                      start: datetime, end: datetime) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield pages of raw 抖店 shop orders updated in ``[start, end]``."""
    window = {"update_time_start": int(require_aware(start, "start").timestamp()),
              "update_time_end": int(require_aware(end, "end").timestamp()),
              "size": PAGE_SIZE, "order_by": "update_time", "order_asc": False}
    first = await _call(session, shop, {**window, "page": 0})
    pages = math.ceil(int(first.get("total") or 0) / PAGE_SIZE)
    for page in range(pages - 1, -1, -1):
        data = await _call(session, shop, {**window, "page": page})
        orders = arr(data.get("shop_order_list") or [], "$.data.shop_order_list")
        yield [dict(obj(o, f"$.data.shop_order_list[{i}]")) for i, o in enumerate(orders)]


async def fetch_orders(session: aiohttp.ClientSession, shop: ShopCredentials,
                       ids: Iterable[str]) -> list[dict[str, Any]]:
    """Raw shop orders for ``ids`` (what a message push names), one order.orderDetail call each."""
    orders = []
    for order_id in ids:
        data = await _call(session, shop, {"shop_order_id": order_id}, DETAIL_METHOD)
        orders.append(dict(obj(data.get("shop_order_detail"), "$.data.shop_order_detail")))
    return orders
