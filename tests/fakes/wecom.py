"""A fake WeCom: the API our client calls, and a sender of real encrypted callbacks.

The API half is an aiohttp app on 127.0.0.1:0 (gettoken, message/send, update_template_card,
webhook/send) that records every request and can be told to fail: an errcode in a 200 body
(42001 token expired, 45009 rate limit ...) or an HTTP status (503). Tokens really expire.

微信客服 (doc 94670/94677): ``kf_customer_says`` adds a customer's message to a kf account's log
and hands out the callback Token (10 min); ``kf/sync_msg`` pages the log from an opaque cursor
(``kf_page_size`` messages a page, fewer than ``limit``, as WeCom may) with ``has_more``;
``kf/send_msg`` records replies and refuses a ``msgid`` already used on the account. Where the
docs name no errcode the fake answers 40058 (不合法的参数).

The callback half encrypts and signs exactly as WeCom does (doc 90968). It is written here
independently of ``bot/wecom/crypto.py`` on purpose, so that a bug shared by both sides cannot
make the e2e tests pass.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import os
import struct
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


@dataclass
class Recorded:
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class FakeWeCom:
    corp_id: str = "ww-fake-corp"
    secret: str = "fake-secret"
    webhook_key: str = "fake-webhook-key"
    token_ttl_s: int = 7200
    requests: list[Recorded] = field(default_factory=list)
    tokens_issued: int = 0
    _failures: list[tuple[str, int, int]] = field(default_factory=list)  # (path, errcode, http)
    _tokens: dict[str, float] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    base_url: str = ""
    down_until: float = 0.0  # time.time() before which every API call answers HTTP 503
    kf_page_size: int = 2
    kf_pages_with_more: int = 0  # sync_msg answers that said has_more
    kf_log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # open_kfid -> msgs
    _kf_tokens: dict[str, float] = field(default_factory=dict)
    _kf_cursors: dict[str, tuple[str, int]] = field(default_factory=dict)  # cursor -> position
    _kf_sent_ids: set[tuple[str, str]] = field(default_factory=set)

    async def __aenter__(self) -> FakeWeCom:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._api)
        app.router.add_post("/cgi-bin/message/update_template_card", self._api)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook)
        app.router.add_post("/cgi-bin/kf/sync_msg", self._kf_sync)
        app.router.add_post("/cgi-bin/kf/send_msg", self._kf_send)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # --- switches -------------------------------------------------------------------------

    def fail_next(self, path: str, *, errcode: int = 0, http_status: int = 200,
                  times: int = 1) -> None:
        """The next ``times`` calls to ``path`` answer ``errcode`` (200 body) or ``http_status``."""
        self._failures.extend([(path, errcode, http_status)] * times)

    def go_down(self, seconds: float) -> None:
        """An outage: every API call (not gettoken) answers HTTP 503 for ``seconds``."""
        self.down_until = time.time() + seconds

    def expire_tokens(self) -> None:
        """Every issued token is now expired (the next API call gets 42001)."""
        for token in self._tokens:
            self._tokens[token] = 0.0

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # --- 微信客服 -------------------------------------------------------------------------------

    def kf_customer_says(self, open_kfid: str, external_userid: str, content: str, *,
                         origin: int = 3, send_time: int | None = None) -> str:
        """A message on the account's log (origin 3 customer, 5 servicer); returns the Token
        the kf_msg_or_event callback carries (valid 10 minutes)."""
        log = self.kf_log.setdefault(open_kfid, [])
        log.append({"msgid": f"kfmsg{sum(map(len, self.kf_log.values()))}",
                    "open_kfid": open_kfid, "external_userid": external_userid,
                    "send_time": int(time.time()) if send_time is None else send_time,
                    "origin": origin, "msgtype": "text", "text": {"content": content}})
        token = f"ENC{os.urandom(12).hex()}"
        self._kf_tokens[token] = time.time() + 600
        return token

    def kf_replies(self, external_userid: str) -> list[str]:
        return [r.body["text"]["content"] for r in self.calls("/cgi-bin/kf/send_msg")
                if r.body.get("touser") == external_userid]

    async def _kf_sync(self, request: web.Request) -> web.Response:
        body, refused = await self._kf_call(request)
        if refused is not None:
            return refused
        open_kfid, cursor, token = body.get("open_kfid", ""), body.get("cursor", ""), \
            body.get("token", "")
        if token and self._kf_tokens.get(token, 0.0) < time.time():
            return _kf_error("invalid token")
        if cursor and self._kf_cursors.get(cursor, ("", 0))[0] != open_kfid:
            return _kf_error("invalid cursor")
        start = self._kf_cursors[cursor][1] if cursor else 0
        limit = min(int(body.get("limit", 1000)), 1000, self.kf_page_size)
        log = self.kf_log.get(open_kfid, [])
        page = log[start:start + limit]
        next_cursor = f"c{os.urandom(6).hex()}"
        self._kf_cursors[next_cursor] = (open_kfid, start + len(page))
        more = start + len(page) < len(log)
        self.kf_pages_with_more += more
        return web.json_response({"errcode": 0, "errmsg": "ok", "next_cursor": next_cursor,
                                  "has_more": int(more), "msg_list": page})

    async def _kf_send(self, request: web.Request) -> web.Response:
        body, refused = await self._kf_call(request)
        if refused is not None:
            return refused
        content = body.get("text", {}).get("content", "")
        if body.get("msgtype") != "text" or not body.get("touser") or \
                not body.get("open_kfid") or not 0 < len(content.encode()) <= 2048:
            return _kf_error("invalid text message")
        msgid = body.get("msgid") or f"sent{len(self.requests)}"
        if (body["open_kfid"], msgid) in self._kf_sent_ids:
            return _kf_error("msgid already used")
        self._kf_sent_ids.add((body["open_kfid"], msgid))
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    async def _kf_call(self, request: web.Request) -> tuple[dict[str, Any], web.Response | None]:
        """Record the call; the injected failure or the token's refusal, if any."""
        body = await request.json()
        self.requests.append(Recorded(request.path, dict(request.query), body))
        injected = self._injected(request.path)
        if injected is not None:
            return body, injected
        expiry = self._tokens.get(request.query.get("access_token", ""))
        if expiry is None:
            return body, web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        if expiry < time.time():
            return body, web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        return body, None

    # --- handlers -------------------------------------------------------------------------

    async def _gettoken(self, request: web.Request) -> web.Response:
        self.requests.append(Recorded(request.path, dict(request.query), None))
        if (request.query.get("corpid"), request.query.get("corpsecret")) != \
                (self.corp_id, self.secret):
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.tokens_issued += 1
        token = f"tok-{self.tokens_issued}-{os.urandom(4).hex()}"
        self._tokens[token] = time.time() + self.token_ttl_s
        return web.json_response({"errcode": 0, "errmsg": "ok", "access_token": token,
                                  "expires_in": self.token_ttl_s})

    async def _api(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(Recorded(request.path, dict(request.query), body))
        injected = self._injected(request.path)
        if injected is not None:
            return injected
        expiry = self._tokens.get(request.query.get("access_token", ""))
        if expiry is None:
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        if expiry < time.time():
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        reply: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}
        if request.path.endswith("/message/send"):
            reply |= {"invaliduser": "", "msgid": f"msg-{len(self.requests)}"}
            if body.get("msgtype") == "template_card":
                reply["response_code"] = f"rc-{len(self.requests)}"
        return web.json_response(reply)

    async def _webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(Recorded(request.path, dict(request.query), body))
        injected = self._injected(request.path)
        if injected is not None:
            return injected
        if request.query.get("key") != self.webhook_key:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    def _injected(self, path: str) -> web.Response | None:
        if time.time() < self.down_until:
            return web.Response(status=503, text="outage")
        for index, (fail_path, errcode, status) in enumerate(self._failures):
            if fail_path == path:
                del self._failures[index]
                if status != 200:
                    return web.Response(status=status, text="injected")
                return web.json_response({"errcode": errcode, "errmsg": "injected"})
        return None


def _kf_error(why: str) -> web.Response:
    return web.json_response({"errcode": 40058, "errmsg": f"invalid parameter: {why}"})


# --- the callback sender (WeCom's side of the crypto) ------------------------------------

_nonces = itertools.count(1_000_000)


@dataclass(frozen=True)
class WeComSender:
    """WeCom as a callback sender for one app: its Token, EncodingAESKey and CorpID."""

    token: str
    encoding_aes_key: str
    corp_id: str

    def encrypt(self, message: str) -> str:
        key = base64.b64decode(self.encoding_aes_key + "=")
        raw = message.encode()
        plain = os.urandom(16) + struct.pack("!I", len(raw)) + raw + self.corp_id.encode()
        pad = 32 - len(plain) % 32
        plain += bytes([pad]) * pad
        encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
        return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        parts = sorted([self.token, timestamp, nonce, encrypted])
        return hashlib.sha1("".join(parts).encode()).hexdigest()

    def query(self, encrypted: str, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce = str(next(_nonces))
        return {"msg_signature": self.sign(stamp, nonce, encrypted), "timestamp": stamp,
                "nonce": nonce}


async def post_callback(session: aiohttp.ClientSession, url: str, xml: str,
                        sender: WeComSender, *, timestamp: int | None = None,
                        signature: str | None = None, agent_id: int = 1000002
                        ) -> tuple[int, str]:
    """POST ``xml`` to ``url`` encrypted and signed like WeCom; returns (status, body text)."""
    encrypted = sender.encrypt(xml)
    query = sender.query(encrypted, timestamp)
    if signature is not None:
        query["msg_signature"] = signature
    body = (f"<xml><ToUserName><![CDATA[{sender.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<AgentID><![CDATA[{agent_id}]]></AgentID></xml>")
    async with session.post(f"{url}?{urlencode(query)}", data=body.encode()) as response:
        return response.status, await response.text()


async def verify_callback_url(session: aiohttp.ClientSession, url: str, sender: WeComSender,
                              echo: str, *, timestamp: int | None = None) -> tuple[int, str]:
    """WeCom's URL verification GET (echostr URL-encoded once, as WeCom sends it)."""
    encrypted = sender.encrypt(echo)
    query = sender.query(encrypted, timestamp) | {"echostr": encrypted}
    async with session.get(f"{url}?{urlencode(query)}") as response:
        return response.status, await response.text()


def text_xml(corp_id: str, user: str, content: str, msg_id: str,
             created: int | None = None, agent_id: int = 1000002) -> str:
    """A text message as WeCom sends it (doc 90239, values in CDATA)."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id}</MsgId><AgentID>{agent_id}</AgentID></xml>")


def kf_event_xml(corp_id: str, open_kfid: str, token: str, created: int | None = None) -> str:
    """The 微信客服 callback (doc 94670): no message, only the account and a sync Token."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
            f"<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{open_kfid}]]></OpenKfId>"
            f"</xml>")


def card_event_xml(corp_id: str, user: str, event_key: str, task_id: str, response_code: str,
                   created: int | None = None, agent_id: int = 1000002) -> str:
    """A template_card_event as WeCom sends it (doc 90240)."""
    return (f"<xml><ToUserName><![CDATA[{corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName>"
            f"<CreateTime>{created or int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
            f"<EventKey><![CDATA[{event_key}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
            f"<CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{response_code}]]></ResponseCode>"
            f"<AgentID>{agent_id}</AgentID></xml>")
