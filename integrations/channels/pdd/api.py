"""Polling 拼多多 with ``pdd.order.number.list.increment.get`` (orders by update time).

Documented rules this follows (POP API doc of pdd.order.number.list.increment.get):

* ``start_updated_at``/``end_updated_at`` are unix seconds and may span at most 30 minutes:
  longer windows are cut into 30-minute slices;
* ``order_status=5`` and ``refund_status=5`` ask for every state, ``is_lucky_flag=0`` for
  every order type; ``page`` starts at 1, ``page_size`` at most 100;
* pages are read **from the last page back to the first** (the doc's advice against missing
  orders that change while paging; a duplicate is harmless, our upsert is idempotent).

System parameters: ``type``, ``client_id``, ``access_token``, ``timestamp``, ``data_type=JSON``,
``version=V1``, ``sign`` (POP md5), POSTed to ``https://gw-api.pinduoduo.com/api/router``.
Errors come in a 200 body as ``error_response``: throttling (``error_code`` 70031 调用过于频繁
and the other 7003x limiter codes) becomes ``RateLimitedError``; token/sign/client errors
become ``ChannelAuthError``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from core.clock import require_aware
from integrations.channels.base import (
    ChannelAuthError,
    ChannelPayloadError,
    ShopCredentials,
)
from integrations.channels.payload import arr, obj
from integrations.channels.pdd.signing import sign_request
from integrations.channels.windows import slices
from integrations.http import RateLimitedError, UpstreamError, call_with_retry, fetch_json

METHOD = "pdd.order.number.list.increment.get"
RESPONSE_KEY = "order_sn_increment_get_response"
DEFAULT_API_BASE = "https://gw-api.pinduoduo.com/api/router"
PAGE_SIZE = 100
MAX_WINDOW = timedelta(minutes=30)
THROTTLE_CODES = frozenset({70031, 70032, 70033, 70034})
AUTH_CODES = frozenset({10019})  # access_token 已过期 / 无效
_AUTH_WORDS = ("access_token", "client_id", "sign", "token")


def _unix(value: datetime) -> int:
    return int(require_aware(value, "window").timestamp())


def build_params(shop: ShopCredentials, business: Mapping[str, object],
                 now: datetime) -> dict[str, str]:
    params = {"type": METHOD, "client_id": shop.app_key, "access_token": shop.access_token or "",
              "timestamp": str(_unix(now)), "data_type": "JSON", "version": "V1",
              **{k: str(v).lower() if isinstance(v, bool) else str(v)
                 for k, v in business.items()}}
    params = {k: v for k, v in params.items() if v != ""}
    params["sign"] = sign_request(params, shop.app_secret)
    return params


def check_error(doc: Mapping[str, Any]) -> None:
    if "error_response" not in doc:
        return
    err = obj(doc["error_response"], "$.error_response")
    code = err.get("error_code")
    message = f"POP error {code} {err.get('error_msg')} {err.get('sub_msg') or ''}".strip()
    if code in THROTTLE_CODES:
        raise RateLimitedError(message)
    wording = f"{err.get('error_msg') or ''} {err.get('sub_msg') or ''}".lower()
    if code in AUTH_CODES or any(w in wording for w in _AUTH_WORDS):
        raise ChannelAuthError(message)
    raise ChannelPayloadError(f"$.error_response: {message}")


async def _call(session: aiohttp.ClientSession, shop: ShopCredentials,
                business: Mapping[str, object]) -> Mapping[str, Any]:
    async def once() -> Mapping[str, Any]:
        params = build_params(shop, business, datetime.now().astimezone())
        doc = obj(await fetch_json(session, "POST", shop.api_base or DEFAULT_API_BASE,
                                   data=params), "$")
        check_error(doc)
        return obj(doc.get(RESPONSE_KEY), f"$.{RESPONSE_KEY}")

    return await call_with_retry(once, retry_on=(UpstreamError,))


async def fetch_since(session: aiohttp.ClientSession, shop: ShopCredentials,
                      start: datetime, end: datetime) -> AsyncIterator[list[dict[str, Any]]]:
    """Yield pages of raw POP order objects updated in ``[start, end]``."""
    for lower, upper in slices(start, end, MAX_WINDOW):
        window = {"start_updated_at": _unix(lower), "end_updated_at": _unix(upper),
                  "order_status": 5, "refund_status": 5, "is_lucky_flag": 0,
                  "page_size": PAGE_SIZE, "use_has_next": False}
        first = await _call(session, shop, {**window, "page": 1})
        for page in range(math.ceil(int(first.get("total_count") or 0) / PAGE_SIZE), 0, -1):
            body = await _call(session, shop, {**window, "page": page})
            orders = arr(body.get("order_sn_list") or [], f"$.{RESPONSE_KEY}.order_sn_list")
            yield [dict(obj(o, f"$.{RESPONSE_KEY}.order_sn_list[{i}]"))
                   for i, o in enumerate(orders)]
