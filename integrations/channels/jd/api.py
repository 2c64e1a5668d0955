"""Polling 京东 POP for orders changed in a time window (``jingdong.pop.order.search``).

JOS routes every call through ``POST {api_base}/routerjson`` with the system parameters and the
business parameters as one ``360buy_param_json`` string, signed by ``signing.sign_request``.
``dateType`` 0 selects by modification time; ``start_date``/``end_date`` are Beijing time
(at most one month apart); ``page``/``page_size`` (max 100) page through ``orderTotal``.
Errors come in HTTP 200 bodies: ``error_response {code, zh_desc}`` (code 19 = invalid
access_token -> ``ChannelAuthError``; a throttling message -> ``RateLimitedError``) or
``apiResult.success == false``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiohttp

from core.clock import SHANGHAI
from integrations.channels.base import (
    ChannelAuthError,
    ChannelPayloadError,
    ShopCredentials,
)
from integrations.channels.jd.signing import sign_request
from integrations.channels.jd.statuses import STATUSES
from integrations.http import RateLimitedError, UpstreamError, call_with_retry, fetch_json

DEFAULT_API_BASE = "https://api.jd.com"
METHOD = "jingdong.pop.order.search"
GET_METHOD = "jingdong.pop.order.get"
# Where each method's result sits: (response envelope, result key); ``responce`` is JOS's spelling.
_RESULTS = {METHOD: ("jingdong_pop_order_search_responce", "searchorderinfo_result"),
            GET_METHOD: ("jingdong_pop_order_get_responce", "orderDetailInfo")}
PAGE_SIZE = 100
OPTIONAL_FIELDS = ",".join((
    "orderId", "venderId", "orderType", "payType", "orderTotalPrice", "orderSellerPrice",
    "orderPayment", "freightPrice", "sellerDiscount", "orderState", "orderStateRemark",
    "invoiceEasyInfo", "invoiceInfo", "invoiceCode", "orderRemark", "orderStartTime",
    "orderEndTime", "consigneeInfo", "itemInfoList", "pin", "open_id_buyer",
    "paymentConfirmTime", "modified", "venderRemark",
))
AUTH_CODES = frozenset({"19"})  # JOS 系统级错误码: 19 = 无效access_token
_THROTTLE_WORDS = ("频率", "限流", "超过限制", "call limited")



async def fetch_since(
    session: aiohttp.ClientSession, shop: ShopCredentials, start: datetime, end: datetime
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield pages of JD order objects modified in ``[start, end]``."""
    url = f"{shop.api_base or DEFAULT_API_BASE}/routerjson"
    seen, page = 0, 1
    while True:
        form = build_request(shop, _business(start, end, page), datetime.now(UTC))
        result = await call_with_retry(partial(_call, session, url, form))
        items = list(result.get("orderInfoList") or [])
        seen += len(items)
        if items:
            yield items
        if len(items) < PAGE_SIZE or seen >= int(result.get("orderTotal") or 0):
            return
        page += 1


async def fetch_orders(session: aiohttp.ClientSession, shop: ShopCredentials,
                       ids: Iterable[str]) -> list[dict[str, Any]]:
    """JD order objects for ``ids`` (an id-only push), one ``jingdong.pop.order.get`` each."""
    url = f"{shop.api_base or DEFAULT_API_BASE}/routerjson"
    orders = []
    for order_id in ids:
        business = {"order_id": order_id, "optional_fields": OPTIONAL_FIELDS,
                    "order_state": ",".join(STATUSES.table)}
        form = build_request(shop, business, datetime.now(UTC), GET_METHOD)
        detail = await call_with_retry(partial(_call, session, url, form))
        orders.append(dict(detail.get("orderInfo") or {}))
    return orders


def build_request(shop: ShopCredentials, business: Mapping[str, Any], now: datetime,
                  method: str = METHOD) -> dict[str, str]:
    """The signed form for one call of ``method`` (search by default)."""
    params = {
        "method": method, "app_key": shop.app_key, "access_token": shop.access_token or "",
        "timestamp": now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), "v": "2.0",
        "360buy_param_json": json.dumps(business, ensure_ascii=False, separators=(",", ":")),
    }
    return sign_request(params, shop.app_secret)


def _business(start: datetime, end: datetime, page: int) -> dict[str, str]:
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"start_date": start.astimezone(SHANGHAI).strftime(fmt),
            "end_date": end.astimezone(SHANGHAI).strftime(fmt),
            "order_state": ",".join(STATUSES.table), "optional_fields": OPTIONAL_FIELDS,
            "page": str(page), "page_size": str(PAGE_SIZE), "dateType": "0", "sortType": "0"}


async def _call(session: aiohttp.ClientSession, url: str, form: Mapping[str, str]
                ) -> Mapping[str, Any]:
    body = await fetch_json(session, "POST", url, data=dict(form))
    return _check(body, form["method"])


def _check(body: object, method: str) -> Mapping[str, Any]:
    """The method's result object; in-body errors raise the matching exception."""
    if not isinstance(body, Mapping):
        raise UpstreamError(f"jd {method}: not a JSON object")
    if "error_response" in body:
        err = body["error_response"]
        code, text = str(err.get("code")), f"{err.get('zh_desc') or err.get('en_desc')}"
        message = f"jd {method}: {code} {text}"
        if code in AUTH_CODES:
            raise ChannelAuthError(message)
        if any(word in text for word in _THROTTLE_WORDS):
            raise RateLimitedError(message)
        raise ChannelPayloadError(message)
    envelope, key = _RESULTS[method]
    result = (body.get(envelope) or {}).get(key)
    if not isinstance(result, Mapping):
        raise UpstreamError(f"jd {method}: response without {key}")
    api = result.get("apiResult") or {}
    if api.get("success") is False:
        raise ChannelPayloadError(
            f"jd {method}: {api.get('numberCode')} {api.get('chineseErrCode')}")
    return result
