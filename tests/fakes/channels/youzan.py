"""A fake 有赞云 for end-to-end tests: token endpoint, ``youzan.trades.sold.get`` 4.0.4 and a
push sender, speaking the documented shapes. Bind it to 127.0.0.1:0 in the test.

It checks what the real platform checks: a known ``access_token`` on every API call, the
modified-time window (``start_update``/``end_update``, Beijing time), ``page_no``/``page_size``.
With ``throttle_once`` the first list call answers with the gateway's throttling error.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib.parse import quote_plus

import aiohttp
from aiohttp import web

LIST_PATH = "/api/youzan.trades.sold.get/4.0.4"
THROTTLE_CODE = 4004


class FakeYouzan:
    def __init__(self, orders: list[dict[str, Any]], *, client_id: str = "cid",
                 client_secret: str = "secret", kdt_id: str = "13027865",
                 throttle_once: bool = False) -> None:
        self.orders = orders  # full_order_info objects
        self.client_id, self.client_secret, self.kdt_id = client_id, client_secret, kdt_id
        self.token = "fake-youzan-token"
        self.throttle_once = throttle_once
        self.calls: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/auth/token", self._auth)
        self.app.router.add_post(LIST_PATH, self._list)

    async def _auth(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("client_id"), body.get("client_secret"), str(body.get("grant_id"))) != (
                self.client_id, self.client_secret, self.kdt_id):
            return web.json_response({"success": False, "code": 40001, "message": "bad client"})
        return web.json_response({"success": True, "code": 200,
                                  "data": {"access_token": self.token, "expires": 0}})

    async def _list(self, request: web.Request) -> web.Response:
        if request.query.get("access_token") != self.token:
            return web.json_response({"gw_err_resp": {"err_code": 4203, "err_msg": "token无效"}})
        params = await request.json()
        self.calls.append(params)
        if self.throttle_once:
            self.throttle_once = False
            return web.json_response({"gw_err_resp": {"err_code": THROTTLE_CODE,
                                                      "err_msg": "调用频率超过限制"}})
        return web.json_response(self._page(params))

    def _page(self, params: dict[str, Any]) -> dict[str, Any]:
        start, end = params["start_update"], params["end_update"]
        hits = [o for o in self.orders if start <= o["order_info"]["update_time"] <= end]
        size, page = int(params["page_size"]), int(params["page_no"])
        chunk = hits[(page - 1) * size: page * size]
        return {"success": True, "code": 200, "message": "successful",
                "data": {"total_results": len(hits),
                         "full_order_info_list": [{"full_order_info": o} for o in chunk]}}


def push_body(order: dict[str, Any], *, client_id: str, client_secret: str,
              kind: str = "trade_TradePaid") -> bytes:
    """A push message as 有赞 sends it: ``msg`` is the URL-encoded trade JSON, ``sign`` md5."""
    msg = quote_plus(json.dumps({"full_order_info": order}, ensure_ascii=False))
    sign = hashlib.md5((client_id + msg + client_secret).encode()).hexdigest()
    doc = {"client_id": client_id, "id": order["order_info"]["tid"], "kdt_id": 13027865,
           "mode": 1, "msg": msg, "sendCount": 0, "sign": sign, "test": False, "type": kind,
           "status": order["order_info"]["status"], "version": 1767528060}
    return json.dumps(doc, ensure_ascii=False).encode()


def signed_push(order: dict[str, Any], *, client_id: str = "cid",
                client_secret: str = "secret", kind: str = "trade_TradePaid"
                ) -> tuple[dict[str, str], bytes]:
    """(headers, body) of a push: body ``sign`` plus the ``Event-Sign`` header over the body."""
    body = push_body(order, client_id=client_id, client_secret=client_secret, kind=kind)
    event_sign = hashlib.md5(client_id.encode() + body + client_secret.encode()).hexdigest()
    return {"Content-Type": "application/json", "Client-Id": client_id, "Event-Type": kind,
            "Event-Sign": event_sign}, body


async def push(url: str, order_payload: dict[str, Any], *, client_id: str = "cid",
               client_secret: str = "secret") -> int:
    """POST a correctly signed push (body ``sign`` and ``Event-Sign`` header) to ``url``."""
    headers, body = signed_push(order_payload, client_id=client_id, client_secret=client_secret)
    async with aiohttp.ClientSession() as session, session.post(
            url, data=body, headers=headers) as response:
        return response.status
