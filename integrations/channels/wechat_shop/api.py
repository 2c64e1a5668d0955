"""Polling 微信小店 for orders changed in a time window.

``POST {api_base}/channels/ec/order/list/get?access_token=`` with ``update_time_range
{start_time, end_time}`` (unix seconds), ``page_size`` (<= 100) and ``next_key`` pages through
ids (``has_more``); each id is then read with ``/channels/ec/order/get``. The token comes from
``/cgi-bin/stable_token`` when the shop has none. In-body ``errcode``: 45009/45011 are the
frequency limits -> ``RateLimitedError``; 40001/40014/42001 are credential errors ->
``ChannelAuthError``; -1 (系统繁忙) is retried as an upstream error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from datetime import datetime
from functools import partial
from typing import Any

import aiohttp

from integrations.channels.base import (
    ChannelAuthError,
    ChannelPayloadError,
    ShopCredentials,
)
from integrations.channels.wechat_shop.signing import sign_request
from integrations.http import RateLimitedError, UpstreamError, call_with_retry, fetch_json

DEFAULT_API_BASE = "https://api.weixin.qq.com"
PAGE_SIZE = 100
THROTTLE_CODES = frozenset({45009, 45011})
AUTH_CODES = frozenset({40001, 40014, 42001, 40013, 40125})



async def fetch_since(
    session: aiohttp.ClientSession, shop: ShopCredentials, start: datetime, end: datetime
) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield pages of ``{"order": ...}`` detail responses for orders updated in the window."""
    base = shop.api_base or DEFAULT_API_BASE
    token = shop.access_token or await _token(session, shop, base)
    next_key = ""
    while True:
        body = {"update_time_range": {"start_time": int(start.timestamp()),
                                      "end_time": int(end.timestamp())},
                "page_size": PAGE_SIZE, "next_key": next_key}
        page = await _post(session, f"{base}/channels/ec/order/list/get", token, body)
        ids = [str(i) for i in page.get("order_id_list") or []]
        if ids:
            yield await _details(session, base, token, ids)
        if not page.get("has_more"):
            return
        next_key = str(page.get("next_key") or "")


async def fetch_orders(session: aiohttp.ClientSession, shop: ShopCredentials,
                       ids: Iterable[str]) -> list[dict[str, Any]]:
    """``{"order": ...}`` detail responses for ``ids`` (what a push or list names), in order."""
    base = shop.api_base or DEFAULT_API_BASE
    token = shop.access_token or await _token(session, shop, base)
    return await _details(session, base, token, ids)


async def _details(session: aiohttp.ClientSession, base: str, token: str,
                   ids: Iterable[str]) -> list[dict[str, Any]]:
    url = f"{base}/channels/ec/order/get"
    return [dict(await _post(session, url, token, {"order_id": i})) for i in ids]


async def _post(session: aiohttp.ClientSession, url: str, token: str,
                body: Mapping[str, Any]) -> Mapping[str, Any]:
    call = partial(fetch_json, session, "POST", url, params=sign_request(token), json=body)
    return await call_with_retry(partial(_checked, call, url))


async def _checked(call: Any, url: str) -> Mapping[str, Any]:
    """One attempt; in-body throttling raises inside the retry loop so it gets the backoff."""
    return _check(await call(), url)


async def _token(session: aiohttp.ClientSession, shop: ShopCredentials, base: str) -> str:
    body = {"grant_type": "client_credential", "appid": shop.app_key, "secret": shop.app_secret}
    url = f"{base}/cgi-bin/stable_token"
    data = await call_with_retry(
        partial(_checked, partial(fetch_json, session, "POST", url, json=body), url))
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise ChannelAuthError(f"wechat_shop {shop.shop_id}: no access_token returned")
    return token


def _check(body: object, url: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise UpstreamError(f"wechat_shop {url}: not a JSON object")
    code = body.get("errcode", 0)
    if code in (0, None):
        return body
    text = f"wechat_shop {url}: {code} {body.get('errmsg')}"
    if code in THROTTLE_CODES:
        raise RateLimitedError(text)
    if code in AUTH_CODES:
        raise ChannelAuthError(text)
    raise UpstreamError(text) if code == -1 else ChannelPayloadError(text)
