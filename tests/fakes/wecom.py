"""A fake WeCom: the API our client calls, and a sender of real encrypted callbacks.

The API half is an aiohttp app on 127.0.0.1:0 (gettoken, message/send, update_template_card,
webhook/send) that records every request and can be told to fail: an errcode in a 200 body
(42001 token expired, 45009 rate limit ...) or an HTTP status (503). Tokens really expire.

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

    async def __aenter__(self) -> FakeWeCom:
        app = web.Application()
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._api)
        app.router.add_post("/cgi-bin/message/update_template_card", self._api)
        app.router.add_post("/cgi-bin/webhook/send", self._webhook)
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
