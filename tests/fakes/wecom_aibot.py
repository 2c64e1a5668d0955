"""A fake WeCom smart-robot long-connection server (智能机器人长连接, doc 101463).

An aiohttp websocket on 127.0.0.1:0 speaking the frames of the official SDK
(WecomTeam/aibot-node-sdk ``src/ws.ts``, ``src/types/api.ts``, ``src/types/event.ts``; the
event body as in doc 101027, details nested under ``event.template_card_event``):

- the first frame must be ``aibot_subscribe`` with this bot's ``bot_id``/``secret``, answered
  ``{headers: {req_id}, errcode: 0, errmsg: "ok"}``; a wrong one gets errcode 40001 (WeCom's
  global "invalid secret") and the socket is closed;
- ``ping`` is acked; ``aibot_send_msg`` / ``aibot_respond_update_msg`` are recorded and acked
  with their req_id (unless told not to); a send needs a chatid and a markdown/template_card
  body, an update the req_id of a click pushed on this connection within 5 s, else errcode
  40058 (invalid parameter);
- one live connection per bot: a newly subscribed connection kicks the old one with a
  ``disconnected_event`` and closes it (``kicks`` counts that: two of our processes connected);
- the test pushes message and click callbacks, closes the live socket, or kicks it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

SENDS = ("aibot_send_msg", "aibot_respond_update_msg", "aibot_respond_msg",
         "aibot_respond_welcome_msg")
UPDATE_WINDOW_S = 5.0


@dataclass
class Sent:
    cmd: str
    req_id: str
    body: dict[str, Any]


@dataclass
class FakeAibot:
    bot_id: str = "fake-bot-id"
    secret: str = "fake-bot-secret"
    ack_sends: bool = True
    ack_pings: bool = True
    sent: list[Sent] = field(default_factory=list)
    pings: int = 0
    sessions: int = 0  # subscribed connections so far
    refused: int = 0  # subscribes with a wrong bot_id/secret
    kicks: int = 0  # live connections kicked by a newer one
    url: str = ""
    _live: web.WebSocketResponse | None = None
    _clicks: dict[str, float] = field(default_factory=dict)  # click req_id -> pushed at
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeAibot:
        app = web.Application()
        app.router.add_get("/", self._connection)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/"
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._live is not None:
            await self._live.close()
        assert self._runner is not None
        await self._runner.cleanup()

    # --- what the test does ------------------------------------------------------------

    @property
    def live(self) -> bool:
        return self._live is not None and not self._live.closed

    async def wait_sessions(self, count: int, within: float = 10.0) -> None:
        deadline = time.monotonic() + within
        while not (self.sessions >= count and self.live):
            assert time.monotonic() < deadline, f"{self.sessions} sessions after {within}s"
            await asyncio.sleep(0.02)

    def sends(self, cmd: str = "aibot_send_msg") -> list[Sent]:
        return [s for s in self.sent if s.cmd == cmd]

    async def push_text(self, userid: str, text: str, *, msgid: str = "",
                        chatid: str = "") -> str:
        body = self._base(userid, msgid, chatid) | {"msgtype": "text",
                                                    "text": {"content": text}}
        return await self.push("aibot_msg_callback", body)

    async def push_click(self, userid: str, event_key: str, task_id: str, *, msgid: str = "",
                         req_id: str = "") -> str:
        event = {"eventtype": "template_card_event",
                 "template_card_event": {"card_type": "button_interaction",
                                         "event_key": event_key, "task_id": task_id}}
        body = self._base(userid, msgid, "") | {"msgtype": "event", "event": event}
        req_id = await self.push("aibot_event_callback", body, req_id)
        self._clicks[req_id] = time.monotonic()
        return req_id

    async def push(self, cmd: str, body: dict[str, Any], req_id: str = "") -> str:
        assert self._live is not None, "no live connection"
        req_id = req_id or f"callback_{next(self._ids)}"
        await self._live.send_json({"cmd": cmd, "headers": {"req_id": req_id}, "body": body})
        return req_id

    async def close_live(self) -> None:
        """The server closes the live socket (maintenance, network)."""
        assert self._live is not None
        await self._live.close()

    async def kick_live(self) -> None:
        """What WeCom does to the old connection when a new one subscribes."""
        assert self._live is not None
        old, self._live = self._live, None
        await self._kick(old)

    # --- the server side -----------------------------------------------------------------

    def _base(self, userid: str, msgid: str, chatid: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "msgid": msgid or f"msg-{next(self._ids)}", "aibotid": self.bot_id,
            "chattype": "group" if chatid else "single", "from": {"userid": userid},
            "create_time": int(time.time()),
        }
        if chatid:
            body["chatid"] = chatid
        return body

    async def _connection(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        if not await self._subscribe(ws):
            await ws.close()
            return ws
        async for message in ws:
            if message.type is WSMsgType.TEXT:
                await self._answer(ws, json.loads(message.data))
        if self._live is ws:
            self._live = None
        return ws

    async def _subscribe(self, ws: web.WebSocketResponse) -> bool:
        first = await ws.receive_json(timeout=5)
        req_id = first.get("headers", {}).get("req_id", "")
        body = first.get("body") or {}
        if first.get("cmd") != "aibot_subscribe" or \
                (body.get("bot_id"), body.get("secret")) != (self.bot_id, self.secret):
            self.refused += 1
            await _ack(ws, req_id, 40001, "invalid secret")
            return False
        if self._live is not None and not self._live.closed:
            self.kicks += 1
            await self._kick(self._live)
        self._live, self.sessions = ws, self.sessions + 1
        await _ack(ws, req_id)
        return True

    async def _kick(self, ws: web.WebSocketResponse) -> None:
        body = self._base("", "", "") | {"msgtype": "event",
                                         "event": {"eventtype": "disconnected_event"}}
        del body["from"]
        await ws.send_json({"cmd": "aibot_event_callback",
                            "headers": {"req_id": f"callback_{next(self._ids)}"}, "body": body})
        await ws.close()

    async def _answer(self, ws: web.WebSocketResponse, received: dict[str, Any]) -> None:
        cmd, req_id = received.get("cmd"), received.get("headers", {}).get("req_id", "")
        if cmd == "ping":
            self.pings += 1
            if self.ack_pings:
                await _ack(ws, req_id)
        elif cmd in SENDS:
            self.sent.append(Sent(cmd, req_id, received.get("body") or {}))
            if not self.ack_sends:
                return
            if cmd == "aibot_respond_update_msg" and not self._fresh_click(req_id):
                await _ack(ws, req_id, 40058, "invalid req_id")
            elif cmd == "aibot_send_msg" and not _valid_send(received.get("body") or {}):
                await _ack(ws, req_id, 40058, "invalid chatid or msgtype")
            else:
                await _ack(ws, req_id)
        else:
            await _ack(ws, req_id, 40058, f"unknown cmd {cmd}")

    def _fresh_click(self, req_id: str) -> bool:
        pushed = self._clicks.get(req_id)
        return pushed is not None and time.monotonic() - pushed <= UPDATE_WINDOW_S


def _valid_send(body: dict[str, Any]) -> bool:
    """``aibot_send_msg``: a chatid and a markdown or template_card body (SDK sendMessage)."""
    kind = body.get("msgtype")
    return bool(body.get("chatid")) and kind in ("markdown", "template_card") and \
        isinstance(body.get(kind), dict)


async def _ack(ws: web.WebSocketResponse, req_id: str, errcode: int = 0,
               errmsg: str = "ok") -> None:
    await ws.send_json({"headers": {"req_id": req_id}, "errcode": errcode, "errmsg": errmsg})
