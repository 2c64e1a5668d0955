"""A fake 拼多多开放平台 (POP) for end-to-end tests.

``make_app`` serves ``POST /api/router`` for ``pdd.order.number.list.increment.get``: form
parameters signed with POP md5 (a bad sign gets an auth error), orders filtered by
``updated_at`` within ``[start_updated_at, end_updated_at]`` (unix seconds vs Beijing-time
text, as POP does), newest first, paged by ``page`` (from 1) / ``page_size``.
``throttle_first=True`` answers the first call with ``error_code`` 70031.

``push`` sends an order the way our HTTP push intake expects it from POP (headers
``client-id``, ``timestamp``, ``sign``; body signed as parameter ``data``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from core.clock import SHANGHAI
from integrations.channels.pdd.signing import sign_push, sign_request

CALLS = web.AppKey("calls", list)
STATE = web.AppKey("state", dict)
METHOD = "pdd.order.number.list.increment.get"


def _error(code: int, msg: str) -> web.Response:
    return web.json_response({"error_response": {
        "error_code": code, "error_msg": msg, "sub_code": "", "sub_msg": "",
        "request_id": "fake"}})


async def _router(request: web.Request) -> web.Response:
    params, state = dict(await request.post()), request.app[STATE]
    request.app[CALLS].append(params)
    expected = sign_request({k: v for k, v in params.items() if k != "sign"}, state["secret"])
    if params.get("client_id") != state["client_id"] or params.get("sign") != expected:
        return _error(10019, "签名(sign)校验失败 invalid sign")
    if params.get("type") != METHOD:
        return _error(10000, "unknown type")
    if state["throttle_first"]:
        state["throttle_first"] = False
        return _error(70031, "调用过于频繁，请调整调用频率")
    return web.json_response(_page(state["orders"], params))


def _beijing(seconds: object) -> str:
    moment = datetime.fromtimestamp(int(str(seconds)), UTC).astimezone(SHANGHAI)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _page(orders: list[Mapping[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
    lower, upper = _beijing(params["start_updated_at"]), _beijing(params["end_updated_at"])
    hits = sorted((o for o in orders if lower <= str(o["updated_at"]) <= upper),
                  key=lambda o: str(o["updated_at"]), reverse=True)
    size, page = int(params.get("page_size", 100)), int(params.get("page", 1))
    return {"order_sn_increment_get_response": {
        "total_count": len(hits), "has_next": page * size < len(hits),
        "order_sn_list": hits[(page - 1) * size: page * size], "request_id": "fake"}}


def make_app(client_id: str, secret: str, orders: list[Mapping[str, Any]],
             *, throttle_first: bool = False) -> web.Application:
    app = web.Application()
    app[CALLS] = []
    app[STATE] = {"client_id": client_id, "secret": secret, "orders": list(orders),
                  "throttle_first": throttle_first}
    app.router.add_post("/api/router", _router)
    return app


def signed_push(order_payload: Mapping[str, Any], client_id: str, secret: str,
                now: datetime) -> tuple[dict[str, str], bytes]:
    body = json.dumps(order_payload, ensure_ascii=False).encode()
    timestamp = str(int(now.timestamp()))
    return {"client-id": client_id, "timestamp": timestamp,
            "sign": sign_push(client_id, timestamp, body, secret),
            "Content-Type": "application/json"}, body


async def push(url: str, order_payload: Mapping[str, Any], *, client_id: str, secret: str,
               now: datetime) -> int:
    headers, body = signed_push(order_payload, client_id, secret, now)
    async with aiohttp.ClientSession() as session, session.post(
        url, data=body, headers=headers
    ) as response:
        return response.status
