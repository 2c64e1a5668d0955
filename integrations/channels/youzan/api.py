"""Polling 有赞 for trades changed in a time window (``youzan.trades.sold.get`` 4.0.4).

``start_update``/``end_update`` select by last modification ("yyyy-MM-dd HH:mm:ss", Beijing
time), ``page_no``/``page_size`` (max 100) page through ``total_results``. Errors come inside
HTTP 200 bodies as ``gw_err_resp {err_code, err_msg}`` or ``success: false``: throttling becomes
``RateLimitedError`` (retried with backoff), token errors ``ChannelAuthError`` (not retried).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp

from core.clock import SHANGHAI
from integrations.channels.base import (
    ChannelAuthError,
    ChannelPayloadError,
    ShopCredentials,
)
from integrations.channels.youzan.signing import sign_request, token_request
from integrations.http import RateLimitedError, UpstreamError, call_with_retry, fetch_json

DEFAULT_API_BASE = "https://open.youzanyun.com"
LIST_METHOD, LIST_VERSION = "youzan.trades.sold.get", "4.0.4"
PAGE_SIZE = 100
# 有赞云 网关错误码 (gw_err_resp.err_code) as listed in the 有赞云 错误码 document: token
# missing/expired/invalid, and the call-frequency limit. Checked against that table, not live.
AUTH_CODES = frozenset({4201, 4202, 4203})
THROTTLE_CODES = frozenset({4004, 429})



async def fetch_since(
    session: aiohttp.ClientSession, shop: ShopCredentials, start: datetime, end: datetime
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield pages of ``{"full_order_info": ...}`` objects modified in ``[start, end]``."""
    base = shop.api_base or DEFAULT_API_BASE
    token = shop.access_token or await _token(session, shop, base)
    page = 1
    while True:
        call = partial(_call, session, base, token, _params(start, end, page))
        data = await call_with_retry(call, retry_on=(UpstreamError,))
        items = data.get("full_order_info_list") or []
        if items:
            yield list(items)
        if len(items) < PAGE_SIZE or page * PAGE_SIZE >= int(data.get("total_results") or 0):
            return
        page += 1


def _params(start: datetime, end: datetime, page: int) -> dict[str, Any]:
    fmt = "%Y-%m-%d %H:%M:%S"
    return {"start_update": start.astimezone(SHANGHAI).strftime(fmt),
            "end_update": end.astimezone(SHANGHAI).strftime(fmt),
            "page_no": page, "page_size": PAGE_SIZE}


async def _call(session: aiohttp.ClientSession, base: str, token: str,
                params: Mapping[str, Any]) -> Mapping[str, Any]:
    url = f"{base}/api/{LIST_METHOD}/{LIST_VERSION}"
    body = await fetch_json(session, "POST", url, params=sign_request(token), json=params)
    return _check(body, LIST_METHOD)


async def _token(session: aiohttp.ClientSession, shop: ShopCredentials, base: str) -> str:
    request = token_request(shop.app_key, shop.app_secret, shop.shop_id)
    body = await call_with_retry(
        lambda: fetch_json(session, "POST", f"{base}/auth/token", json=request))
    data = _check(body, "auth/token")
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise ChannelAuthError(f"youzan shop {shop.shop_id}: /auth/token returned no token")
    return token


def _check(body: object, method: str) -> Mapping[str, Any]:
    """Raise the matching error for an in-body failure; return ``data`` on success."""
    if not isinstance(body, Mapping):
        raise UpstreamError(f"youzan {method}: not a JSON object")
    err = body.get("gw_err_resp")
    if isinstance(err, Mapping) and err.get("err_code") not in (None, 0):
        _raise(method, err.get("err_code"), err.get("err_msg"))
    if body.get("success") is False:
        _raise(method, body.get("code"), body.get("message"))
    data = body.get("data", body.get("response"))
    if not isinstance(data, Mapping):
        raise UpstreamError(f"youzan {method}: response without data")
    return data


def _raise(method: str, code: object, message: object) -> None:
    text = f"youzan {method}: {code} {message}"
    if code in THROTTLE_CODES:
        raise RateLimitedError(text)
    if code in AUTH_CODES:
        raise ChannelAuthError(text)
    if isinstance(code, int) and code >= 500:
        raise UpstreamError(text)
    raise ChannelPayloadError(text)
