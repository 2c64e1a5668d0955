"""A fake 淘宝开放平台 (TOP) for end-to-end tests.

``make_app`` serves ``POST /router/rest`` for ``taobao.trades.sold.increment.get`` the way TOP
documents it: form-encoded system parameters signed with the TOP md5 scheme (a bad sign gets
error 25), trades filtered by ``modified`` in ``[start_modified, end_modified]``, sorted by
``modified`` descending, paged by ``page_no``/``page_size``, ``total_results`` in the body.
``throttle_first=True`` answers the first call with TOP's in-body throttling error (code 7).

``push`` sends a trade the way a 奇门-signed HTTP push arrives: system parameters in the URL
query, ``sign = MD5(secret + sorted name+value + body + secret)``, JSON body.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import aiohttp
from aiohttp import web

from core.clock import SHANGHAI
from integrations.channels.taobao.signing import sign_qimen, sign_request

CALLS = web.AppKey("calls", list)
STATE = web.AppKey("state", dict)
METHOD = "taobao.trades.sold.increment.get"


def _error(code: int, msg: str, sub_code: str = "") -> web.Response:
    return web.json_response({"error_response": {
        "code": code, "msg": msg, "sub_code": sub_code, "request_id": "fake"}})


async def _rest(request: web.Request) -> web.Response:
    params = dict(await request.post())
    state = request.app[STATE]
    request.app[CALLS].append(params)
    expected = sign_request({k: v for k, v in params.items() if k != "sign"},
                            state["secret"], str(params.get("sign_method", "md5")))
    if params.get("app_key") != state["app_key"] or params.get("sign") != expected:
        return _error(25, "Invalid signature", "isv.invalid-signature")
    if params.get("method") != METHOD:
        return _error(22, "Invalid method")
    if state["throttle_first"]:
        state["throttle_first"] = False
        return _error(7, "App Call Limited", "accesscontrol.limited-by-app-access-count")
    return web.json_response(_page(state["trades"], params))


def _page(trades: list[Mapping[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
    lower, upper = str(params["start_modified"]), str(params["end_modified"])
    hits = sorted((t for t in trades if lower <= str(t["modified"]) <= upper),
                  key=lambda t: str(t["modified"]), reverse=True)
    size, number = int(params.get("page_size", 40)), int(params.get("page_no", 1))
    page = hits[(number - 1) * size: number * size]
    body: dict[str, Any] = {"total_results": len(hits), "request_id": "fake"}
    if page:
        body["trades"] = {"trade": page}
    return {"trades_sold_increment_get_response": body}


def make_app(app_key: str, secret: str, trades: list[Mapping[str, Any]],
             *, throttle_first: bool = False) -> web.Application:
    app = web.Application()
    app[CALLS] = []
    app[STATE] = {"app_key": app_key, "secret": secret, "trades": list(trades),
                  "throttle_first": throttle_first}
    app.router.add_post("/router/rest", _rest)
    return app


def signed_push(payload: Mapping[str, Any], app_key: str, secret: str,
                now: datetime) -> tuple[dict[str, str], bytes]:
    """The query parameters and body of one 奇门-signed push."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    query = {"method": "taobao.trade.fullinfo.get", "app_key": app_key, "format": "json",
             "v": "2.0", "sign_method": "md5", "customerId": "fake-seller",
             "timestamp": now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")}
    query["sign"] = sign_qimen(query, body, secret)
    return query, body


async def push(url: str, order_payload: Mapping[str, Any], *, app_key: str, secret: str,
               now: datetime) -> int:
    """POST one signed push to ``url``; returns the HTTP status our intake answered."""
    query, body = signed_push(order_payload, app_key, secret, now)
    async with aiohttp.ClientSession() as session, session.post(
        url, params=query, data=body, headers={"Content-Type": "application/json"}
    ) as response:
        return response.status
