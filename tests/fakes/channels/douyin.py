"""A fake 抖店开放平台 for end-to-end tests.

``make_app`` serves ``POST /order/searchList``: system parameters in the query, ``param_json``
as the body, the documented sign (hmac-sha256 or md5 over ``secret + app_key.. method..
param_json.. timestamp.. v.. + secret``); orders filtered by ``update_time`` within
``[update_time_start, update_time_end]``, newest first, paged by ``page`` (from 0) / ``size``.
``throttle_first=True`` answers the first call with an in-body throttling error.
``POST /order/orderDetail`` answers ``{"shop_order_id"}`` with ``data.shop_order_detail``.

``push`` delivers a message-push body the way 抖店 does: a JSON array of
``{"tag", "msg_id", "data"}`` with headers ``app-id`` and ``event-sign``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
from aiohttp import web

from integrations.channels.douyin.signing import sign_push, sign_request

CALLS = web.AppKey("calls", list)
STATE = web.AppKey("state", dict)


def _error(code: int, msg: str, sub_code: str, sub_msg: str) -> web.Response:
    return web.json_response({"code": code, "msg": msg, "sub_code": sub_code,
                              "sub_msg": sub_msg, "log_id": "fake", "data": None})


def _refused(request: web.Request, body: str) -> web.Response | None:
    """The platform's checks of every call: app key and the documented sign."""
    state, query = request.app[STATE], request.query
    request.app[CALLS].append({**query, "param_json": body})
    expected = sign_request(query.get("method", ""), body, state["app_key"], state["secret"],
                            query.get("timestamp", ""), v=query.get("v", ""),
                            sign_method=query.get("sign_method", "md5"))
    if query.get("app_key") != state["app_key"] or query.get("sign") != expected:
        return _error(30001, "签名校验失败", "isv.invalid-sign", "sign 不正确")
    return None


async def _order_detail(request: web.Request) -> web.Response:
    body = await request.text()
    if (refused := _refused(request, body)) is not None:
        return refused
    wanted = str(json.loads(body)["shop_order_id"])
    found = [o for o in request.app[STATE]["orders"] if str(o["order_id"]) == wanted]
    if not found:
        return _error(50002, "业务处理失败", "isv.business-failed:order-not-found", "订单不存在")
    return web.json_response({"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "",
                              "log_id": "fake", "data": {"shop_order_detail": found[0]}})


async def _search_list(request: web.Request) -> web.Response:
    state, body = request.app[STATE], await request.text()
    if (refused := _refused(request, body)) is not None:
        return refused
    if state["throttle_first"]:
        state["throttle_first"] = False
        return _error(50002, "业务处理失败", "isv.business-failed:flow-limit", "触发限流")
    return web.json_response(_page(state["orders"], json.loads(body)))


def _page(orders: list[Mapping[str, Any]], params: Mapping[str, Any]) -> dict[str, Any]:
    lower, upper = params["update_time_start"], params["update_time_end"]
    hits = sorted((o for o in orders if lower <= o["update_time"] <= upper),
                  key=lambda o: o["update_time"], reverse=True)
    size, page = int(params.get("size", 10)), int(params.get("page", 0))
    data = {"page": page, "size": size, "total": len(hits),
            "shop_order_list": hits[page * size: (page + 1) * size]}
    return {"code": 10000, "msg": "success", "sub_code": "", "sub_msg": "", "log_id": "fake",
            "data": data}


def make_app(app_key: str, secret: str, orders: list[Mapping[str, Any]],
             *, throttle_first: bool = False) -> web.Application:
    app = web.Application()
    app[CALLS] = []
    app[STATE] = {"app_key": app_key, "secret": secret, "orders": list(orders),
                  "throttle_first": throttle_first}
    app.router.add_post("/order/searchList", _search_list)
    app.router.add_post("/order/orderDetail", _order_detail)
    return app


def serve(app: web.Application, order: Mapping[str, Any]) -> None:
    """Make ``order`` what the platform answers for its ``order_id`` (added, or replacing the
    version served so far: a status change on the platform)."""
    orders = app[STATE]["orders"]
    orders[:] = [o for o in orders if str(o["order_id"]) != str(order["order_id"])]
    orders.append(order)


def signed_push(messages: list[Mapping[str, Any]], app_key: str,
                secret: str) -> tuple[dict[str, str], bytes]:
    body = json.dumps(messages, ensure_ascii=False, separators=(",", ":")).encode()
    return {"app-id": app_key, "event-sign": sign_push(app_key, body, secret),
            "Content-Type": "application/json"}, body


def message(tag: str, msg_id: str, data: Mapping[str, Any]) -> dict[str, str]:
    """One push message; ``data`` is itself serialised JSON, as the platform sends it."""
    return {"tag": tag, "msg_id": msg_id, "data": json.dumps(data, separators=(",", ":"))}


async def push(url: str, order_payload: list[Mapping[str, Any]], *, app_key: str,
               secret: str) -> int:
    headers, body = signed_push(order_payload, app_key, secret)
    async with aiohttp.ClientSession() as session, session.post(
        url, data=body, headers=headers
    ) as response:
        return response.status
