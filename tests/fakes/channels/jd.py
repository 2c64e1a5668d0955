"""A fake JOS router for end-to-end tests: ``POST /routerjson`` serving
``jingdong.pop.order.search`` and ``jingdong.pop.order.get`` in the documented envelopes, and a
push sender.

It verifies what JOS verifies: the app key, the access_token and the MD5 ``sign`` over every
form field; it honours the modified-time window (``start_date``/``end_date``, Beijing time) and
``page``/``page_size``. With ``throttle_once`` the first call gets a throttling error_response.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from integrations.channels.jd.signing import sign, sign_request

SEARCH = "jingdong_pop_order_search_responce"


class FakeJos:
    def __init__(self, orders: list[dict[str, Any]], *, app_key: str = "key",
                 app_secret: str = "secret", access_token: str = "token",
                 throttle_once: bool = False) -> None:
        self.orders = orders
        self.app_key, self.app_secret, self.access_token = app_key, app_secret, access_token
        self.throttle_once = throttle_once
        self.calls: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/routerjson", self._router)

    def serve(self, order: dict[str, Any]) -> None:
        """Make ``order`` what ``jingdong.pop.order.get`` answers for its ``orderId``."""
        self.orders = [o for o in self.orders if str(o["orderId"]) != str(order["orderId"])]
        self.orders.append(order)

    async def _router(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        fields = {k: str(v) for k, v in form.items()}
        if fields.get("app_key") != self.app_key or fields.get("sign") != sign(
                fields, self.app_secret):
            return _error("14", "签名无效", "Invalid signature")
        if fields.get("access_token") != self.access_token:
            return _error("19", "无效access_token", "Invalid access_token")
        business = json.loads(fields["360buy_param_json"])
        self.calls.append(business)
        if self.throttle_once:
            self.throttle_once = False
            return _error("66", "调用频率超过限制", "call limited")
        if fields.get("method") == "jingdong.pop.order.get":
            return web.json_response(self._get(str(business["order_id"])))
        return web.json_response(self._page(business))

    def _get(self, order_id: str) -> dict[str, Any]:
        found = [o for o in self.orders if str(o["orderId"]) == order_id]
        api = {"success": bool(found), "code": "0" if found else "1",
               "chineseErrCode": "成功" if found else "订单不存在", "numberCode": 10100000}
        detail = {"apiResult": api, **({"orderInfo": found[0]} if found else {})}
        return {"jingdong_pop_order_get_responce": {"code": "0", "orderDetailInfo": detail}}

    def _page(self, q: dict[str, Any]) -> dict[str, Any]:
        hits = [o for o in self.orders if q["start_date"] <= o["modified"] <= q["end_date"]]
        size, page = int(q["page_size"]), int(q["page"])
        api = {"success": True, "code": "0", "chineseErrCode": "成功", "numberCode": 10100000}
        return {SEARCH: {"code": "0", "searchorderinfo_result": {
            "apiResult": api, "orderInfoList": hits[(page - 1) * size: page * size],
            "orderTotal": len(hits)}}}


def _error(code: str, zh: str, en: str) -> web.Response:
    return web.json_response({"error_response": {"code": code, "zh_desc": zh, "en_desc": en}})


def push_body(order: dict[str, Any], *, app_key: str = "key", app_secret: str = "secret",
              timestamp: str = "2026-01-05 14:40:00") -> bytes:
    """The form-encoded, JOS-signed push carrying ``order`` in ``jd_param_json``."""
    fields = {"app_key": app_key, "token": "token", "timestamp": timestamp, "format": "json",
              "v": "1.0", "jd_param_json": json.dumps(order, ensure_ascii=False)}
    return urlencode(sign_request(fields, app_secret)).encode()


async def push(url: str, order_payload: dict[str, Any], *, app_key: str = "key",
               app_secret: str = "secret") -> int:
    """POST a correctly signed push to ``url``; returns the HTTP status."""
    body = push_body(order_payload, app_key=app_key, app_secret=app_secret)
    headers = {"Content-Type": "application/x-www-form-urlencoded;charset=utf-8"}
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers=headers) as response:
        return response.status
