"""A fake 微信小店 API for end-to-end tests: ``stable_token``, ``order/list/get`` (by
``update_time_range``, paged with ``next_key``), ``order/get``, and an encrypted push sender.

It checks the access_token on every call like the real API and, with ``throttle_once``, answers
the first list call with errcode 45011 (API minute-quota reached).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from integrations.channels.wechat_shop.signing import encrypt, msg_signature, split_secret


class FakeWechatShop:
    def __init__(self, orders: list[dict[str, Any]], *, appid: str = "wxappid",
                 app_secret: str = "secret", throttle_once: bool = False) -> None:
        self.orders = {int(o["order_id"]): o for o in orders}
        self.appid, self.app_secret, self.token = appid, app_secret, "fake-wx-token"
        self.throttle_once = throttle_once
        self.calls: list[dict[str, Any]] = []
        self.app = web.Application()
        self.app.router.add_post("/cgi-bin/stable_token", self._token)
        self.app.router.add_post("/channels/ec/order/list/get", self._list)
        self.app.router.add_post("/channels/ec/order/get", self._get)

    def serve(self, order: dict[str, Any]) -> None:
        """Make ``order`` what ``order/get`` answers for its ``order_id`` (added or replaced)."""
        self.orders[int(order["order_id"])] = order

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("appid"), body.get("secret")) != (self.appid, self.app_secret):
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        return web.json_response({"access_token": self.token, "expires_in": 7200})

    def _denied(self, request: web.Request) -> web.Response | None:
        if request.query.get("access_token") != self.token:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        return None

    async def _list(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        body = await request.json()
        self.calls.append(body)
        if self.throttle_once:
            self.throttle_once = False
            return web.json_response({"errcode": 45011, "errmsg": "api minute-quota reach limit"})
        window = body["update_time_range"]
        ids = sorted(i for i, o in self.orders.items()
                     if window["start_time"] <= o["update_time"] <= window["end_time"])
        start = int(body.get("next_key") or 0)
        chunk = ids[start:start + int(body["page_size"])]
        more = start + len(chunk) < len(ids)
        return web.json_response({"errcode": 0, "errmsg": "ok",
                                  "order_id_list": [str(i) for i in chunk],
                                  "next_key": str(start + len(chunk)), "has_more": more})

    async def _get(self, request: web.Request) -> web.Response:
        if (denied := self._denied(request)) is not None:
            return denied
        order = self.orders.get(int((await request.json())["order_id"]))
        if order is None:
            return web.json_response({"errcode": 100002, "errmsg": "order not found"})
        return web.Response(text=json.dumps({"errcode": 0, "errmsg": "ok", "order": order}),
                            content_type="application/json")


def encrypted_push(message: dict[str, Any], secret: str, appid: str = "wxappid"
                   ) -> tuple[dict[str, str], bytes]:
    """(query parameters, body) of a push the way WeChat sends it in 安全模式 (JSON)."""
    token, aes_key, _ = split_secret(secret)
    cipher = encrypt(json.dumps(message).encode(), aes_key, appid, os.urandom(16))
    timestamp, nonce = str(int(time.time())), "1514711492"
    query = {"timestamp": timestamp, "nonce": nonce, "encrypt_type": "aes",
             "msg_signature": msg_signature(token, timestamp, nonce, cipher)}
    body = json.dumps({"ToUserName": "gh_0123456789ab", "Encrypt": cipher}).encode()
    return query, body


async def push(url: str, order_payload: dict[str, Any], *, secret: str,
               appid: str = "wxappid") -> int:
    """POST an encrypted, signed ``channels_ec_order_pay`` push for ``order_payload``."""
    message = {"ToUserName": "gh_0123456789ab", "FromUserName": "OPENID",
               "CreateTime": int(time.time()), "MsgType": "event",
               "Event": "channels_ec_order_pay",
               "order_info": {"order_id": order_payload["order_id"]}}
    query, body = encrypted_push(message, secret, appid)
    async with aiohttp.ClientSession() as session, session.post(
            f"{url}?{urlencode(query)}", data=body,
            headers={"Content-Type": "application/json"}) as response:
        return response.status
