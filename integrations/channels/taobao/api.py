"""Polling 淘宝/天猫 with ``taobao.trades.sold.increment.get`` (trades by modified time).

Documented rules this follows (TOP API doc of taobao.trades.sold.increment.get):

* ``end_modified - start_modified <= 1 day``: longer windows are split into day-long slices;
* results are sorted by ``modified`` descending and must be read **from the last page back to
  the first** so that trades modified while we page are never skipped (they can only push
  items onto pages we have not read yet; a duplicate is harmless, our upsert is idempotent);
* ``page_size`` 40-50 is recommended; times are "yyyy-MM-dd HH:mm:ss" Beijing time.

Throttling comes back inside a 200 body as ``error_response`` code 7 (App Call Limited) or an
``accesscontrol.limited*`` sub code; it becomes ``RateLimitedError`` and is retried with
backoff by ``call_with_retry``. Session/signature/app-key errors become ``ChannelAuthError``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from core.clock import SHANGHAI, require_aware
from integrations.channels.base import (
    ChannelAuthError,
    ChannelPayloadError,
    ShopCredentials,
)
from integrations.channels.payload import obj
from integrations.channels.taobao.mapping import unwrap
from integrations.channels.taobao.signing import sign_request
from integrations.channels.windows import slices
from integrations.http import RateLimitedError, UpstreamError, call_with_retry, fetch_json

METHOD = "taobao.trades.sold.increment.get"
RESPONSE_KEY = "trades_sold_increment_get_response"
DEFAULT_API_BASE = "https://eco.taobao.com/router/rest"
PAGE_SIZE = 50
MAX_WINDOW = timedelta(days=1)
FIELDS = (
    "tid,tid_str,status,type,created,modified,pay_time,payment,total_fee,post_fee,"
    "discount_fee,buyer_nick,buyer_open_uid,buyer_message,seller_memo,receiver_name,"
    "receiver_state,receiver_city,receiver_district,receiver_town,receiver_address,"
    "receiver_mobile,receiver_phone,step_trade_status,step_paid_fee,invoice_name,oaid,"
    "orders.oid,orders.num_iid,orders.sku_id,orders.outer_sku_id,orders.outer_iid,"
    "orders.title,orders.num,orders.price,orders.payment,orders.divide_order_fee,"
    "orders.refund_status,orders.status"
)
THROTTLE_CODES = frozenset({7})  # 7 = App Call Limited
AUTH_CODES = frozenset({25, 26, 27, 28, 29})  # signature, missing/invalid session, app key


def _top_time(value: datetime) -> str:
    return require_aware(value, "window").astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def build_params(shop: ShopCredentials, business: Mapping[str, object],
                 now: datetime) -> dict[str, str]:
    """System + business parameters with ``sign`` (TOP md5 signing)."""
    params = {
        "method": METHOD, "app_key": shop.app_key, "session": shop.access_token or "",
        "timestamp": _top_time(now), "format": "json", "v": "2.0", "sign_method": "md5",
        "simplify": "false",
        **{k: str(v) for k, v in business.items()},
    }  # fmt: skip
    params = {k: v for k, v in params.items() if v != ""}
    params["sign"] = sign_request(params, shop.app_secret, "md5")
    return params


def check_error(doc: Mapping[str, Any]) -> None:
    """Turn a TOP ``error_response`` into the right exception."""
    if "error_response" not in doc:
        return
    err = obj(doc["error_response"], "$.error_response")
    code, sub = err.get("code"), str(err.get("sub_code") or "")
    message = f"TOP error {code} {err.get('msg')} {sub} {err.get('sub_msg') or ''}".strip()
    if code in THROTTLE_CODES or sub.startswith("accesscontrol.limited"):
        raise RateLimitedError(message)
    if code in AUTH_CODES or sub.startswith("isv.invalid-session"):
        raise ChannelAuthError(message)
    if sub.startswith("isp."):  # platform-side failure: worth retrying
        raise UpstreamError(message)
    raise ChannelPayloadError(f"$.error_response: {message}")


async def _call(session: aiohttp.ClientSession, shop: ShopCredentials,
                business: Mapping[str, object]) -> Mapping[str, Any]:
    async def once() -> Mapping[str, Any]:
        params = build_params(shop, business, datetime.now(SHANGHAI))
        doc = obj(await fetch_json(session, "POST", shop.api_base or DEFAULT_API_BASE,
                                   data=params), "$")
        check_error(doc)
        return obj(doc.get(RESPONSE_KEY), f"$.{RESPONSE_KEY}")

    return await call_with_retry(once, retry_on=(UpstreamError,))


async def fetch_since(session: aiohttp.ClientSession, shop: ShopCredentials,
                      start: datetime, end: datetime) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield pages of raw TOP ``Trade`` objects modified in ``[start, end)``.

    Each yielded trade is a bare ``Trade`` dict that ``taobao.parse`` maps on its own.
    """
    for lower, upper in slices(start, end, MAX_WINDOW):
        window = {"start_modified": _top_time(lower), "end_modified": _top_time(upper),
                  "fields": FIELDS, "page_size": PAGE_SIZE}
        first = await _call(session, shop, {**window, "page_no": 1})
        total = int(first.get("total_results") or 0)
        for page in range(math.ceil(total / PAGE_SIZE), 0, -1):
            body = await _call(session, shop, {**window, "page_no": page})
            if "trades" in body:
                trades, path = unwrap(body["trades"], "trade", f"$.{RESPONSE_KEY}.trades")
                yield [dict(obj(t, f"{path}[{i}]")) for i, t in enumerate(trades)]
