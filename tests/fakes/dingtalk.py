"""A fake DingTalk: the stream gateway (open-connection POST + websocket) and the OpenAPI.

Protocol facts from notes/dingtalk.md §1-§5 (checked against dingtalk-stream 0.24.3):
- ``POST /v1.0/gateway/connections/open`` with clientId/clientSecret/subscriptions returns
  ``{"endpoint": "ws://127.0.0.1:PORT/connect", "ticket": ...}`` (tickets are single-use);
- frames are JSON text: ``{"specVersion","type","headers":{...,"messageId","topic"},"data"}``
  where ``data`` is itself a JSON *string*; SYSTEM ``ping`` frames carry ``{"opaque": ..}``;
- the client ACKs with ``{"code","headers":{"messageId"},"message","data"}``: recorded by id;
- OpenAPI calls carry ``x-acs-dingtalk-access-token``; switches answer 429/503 on demand.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

ROBOT_TOPIC = "/v1.0/im/bot/messages/get"
CARD_TOPIC = "/v1.0/card/instances/callback"
API_PATHS = ("/v1.0/card/instances/createAndDeliver", "/v1.0/card/instances",
             "/v1.0/robot/oToMessages/batchSend", "/v1.0/robot/groupMessages/send")


@dataclass
class ApiCall:
    method: str
    path: str
    token: str
    body: Any


@dataclass
class FakeDingTalk:
    client_id: str = "ding-fake-app"
    client_secret: str = "fake-secret"
    token_ttl_s: int = 7200
    opens: list[dict[str, Any]] = field(default_factory=list)
    acks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[ApiCall] = field(default_factory=list)
    tokens_issued: int = 0
    sessions: int = 0
    down_until: float = 0.0  # time.time() before which every OpenAPI call answers HTTP 503
    deliver_fails: bool = False  # createAndDeliver answers 200 with deliverResults success=false
    base_url: str = ""
    _tickets: set[str] = field(default_factory=set)
    _tokens: dict[str, float] = field(default_factory=dict)
    _failures: list[tuple[str, int]] = field(default_factory=list)
    _ws: web.WebSocketResponse | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def __aenter__(self) -> FakeDingTalk:
        app = web.Application()
        app.router.add_post("/v1.0/gateway/connections/open", self._open)
        app.router.add_get("/connect", self._connect)
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_route("*", "/v1.0/{tail:.*}", self._api)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # --- the stream gateway ------------------------------------------------------------------

    async def _open(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self._notify(lambda: self.opens.append(body))
        if (body.get("clientId"), body.get("clientSecret")) != (self.client_id,
                                                                self.client_secret):
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        return web.json_response({"endpoint": f"{self.base_url.replace('http', 'ws')}/connect",
                                  "ticket": ticket})

    async def _connect(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=403, text="bad ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await self._notify(lambda: self._session_opened(ws))
        async for frame in ws:
            if frame.type == WSMsgType.TEXT:
                ack = json.loads(frame.data)
                key = str(ack.get("headers", {}).get("messageId", ""))
                await self._notify(lambda k=key, a=ack: self.acks.setdefault(k, []).append(a))
        return ws

    def _session_opened(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws
        self.sessions += 1

    async def _notify(self, change: Any) -> None:
        async with self._changed:
            change()
            self._changed.notify_all()

    async def wait_connected(self, connections: int = 1, within: float = 10) -> None:
        """Until ``connections`` websocket sessions have been opened in total."""
        await self._wait(lambda: self.sessions >= connections and self._ws is not None
                         and not self._ws.closed, within)

    async def wait_opens(self, opens: int, within: float = 10) -> None:
        """Until ``opens`` open-connection requests arrived (accepted or not)."""
        await self._wait(lambda: len(self.opens) >= opens, within)

    async def wait_ack(self, message_id: str, count: int = 1, within: float = 10
                       ) -> dict[str, Any]:
        """The ``count``-th ACK of ``message_id`` (waits for it)."""
        await self._wait(lambda: len(self.acks.get(message_id, [])) >= count, within)
        return self.acks[message_id][count - 1]

    async def _wait(self, predicate: Any, within: float) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(predicate)

    async def push(self, topic: str, data: dict[str, Any], *, message_id: str | None = None,
                   frame_type: str = "CALLBACK") -> str:
        """Send one frame on the live websocket; returns its messageId."""
        if self._ws is None or self._ws.closed:
            raise RuntimeError("no stream client connected")
        message_id = message_id or f"fake_{next(self._ids)}_{uuid.uuid4().hex[:8]}"
        frame = {"specVersion": "1.0", "type": frame_type, "data": json.dumps(data),
                 "headers": {"appId": "fake-app", "connectionId": "fake-conn",
                             "contentType": "application/json", "messageId": message_id,
                             "time": str(int(time.time() * 1000)), "topic": topic}}
        await self._ws.send_str(json.dumps(frame))
        return message_id

    async def ping(self) -> str:
        """A SYSTEM ping; the SDK answers it echoing the opaque."""
        return await self.push("ping", {"opaque": uuid.uuid4().hex}, frame_type="SYSTEM")

    async def disconnect(self) -> str:
        """A SYSTEM disconnect: the client should re-open a connection at once."""
        return await self.push("disconnect", {"reason": "fake"}, frame_type="SYSTEM")

    # --- the OpenAPI ---------------------------------------------------------------------------

    def fail_next(self, path: str, status: int, times: int = 1) -> None:
        """The next ``times`` OpenAPI calls to ``path`` answer HTTP ``status`` (429, 503 ...)."""
        self._failures.extend([(path, status)] * times)

    def go_down(self, seconds: float) -> None:
        """An outage: every OpenAPI call (not the token) answers HTTP 503 for ``seconds``."""
        self.down_until = time.time() + seconds

    def expire_tokens(self) -> None:
        for token in self._tokens:
            self._tokens[token] = 0.0

    def api_calls(self, path: str) -> list[ApiCall]:
        return [call for call in self.calls if call.path == path]

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("appKey"), body.get("appSecret")) != (self.client_id, self.client_secret):
            return web.json_response({"code": "invalidClientIdOrSecret"}, status=400)
        self.tokens_issued += 1
        token = f"dt-token-{self.tokens_issued}"
        self._tokens[token] = time.time() + self.token_ttl_s
        return web.json_response({"accessToken": token, "expireIn": self.token_ttl_s})

    async def _api(self, request: web.Request) -> web.Response:
        token = request.headers.get("x-acs-dingtalk-access-token", "")
        body = await request.json() if request.can_read_body else None
        self.calls.append(ApiCall(request.method, request.path, token, body))
        if time.time() < self.down_until:
            return web.json_response({"code": "ServiceUnavailable"}, status=503)
        for index, (path, status) in enumerate(self._failures):
            if path == request.path:
                del self._failures[index]
                return web.json_response({"code": "Throttling", "message": "injected"},
                                         status=status)
        if self._tokens.get(token, 0.0) < time.time():
            return web.json_response({"code": "InvalidAuthentication",
                                      "message": "不合法的access_token"}, status=401)
        return web.json_response(self._reply(request.method, request.path, body))

    def _reply(self, method: str, path: str, body: Any) -> dict[str, Any]:
        if path.endswith("/createAndDeliver"):
            space = body.get("openSpaceId", "")
            return {"success": True, "result": {"outTrackId": body.get("outTrackId"),
                    "deliverResults": [{"spaceType": space.split("//")[-1].split(".")[0],
                                        "spaceId": space, "success": not self.deliver_fails,
                                        "errorMsg": "robot not in group" if self.deliver_fails
                                        else "",
                                        "carrierId": "carrier-1"}]}}
        if path == "/v1.0/card/instances" and method == "PUT":
            return {"success": True, "result": True}
        if path.endswith("/batchSend"):
            return {"processQueryKey": f"pqk-{len(self.calls)}", "invalidStaffIdList": [],
                    "flowControlledStaffIdList": []}
        return {"processQueryKey": f"pqk-{len(self.calls)}"}


def robot_text_data(text: str, *, msg_id: str, group: bool = True, staff_id: str = "staff-001",
                    nick: str = "张三", at_bot: bool = True, created_ms: int | None = None,
                    webhook: str = "http://127.0.0.1:9/robot/sendBySession?session=x"
                    ) -> dict[str, Any]:
    """The ``data`` of a robot text message, field for field as in notes §1.4."""
    return {
        "conversationId": "cidGroup001==" if group else "cidSingle001==",
        "conversationType": "2" if group else "1", "msgId": msg_id, "senderNick": nick,
        "senderStaffId": staff_id, "senderId": "$:LWCP_v1:$fake", "sessionWebhook": webhook,
        "sessionWebhookExpiredTime": int(time.time() * 1000) + 5_400_000,
        "robotCode": "ding-fake-app", "msgtype": "text", "text": {"content": text},
        "isInAtList": at_bot, "chatbotCorpId": "ding-corp", "senderCorpId": "ding-corp",
        "createAt": created_ms or int(time.time() * 1000), "isAdmin": False,
        "conversationTitle": "订单异常群" if group else "", "atUsers": [{"dingtalkId": "bot"}],
    }


def card_callback_data(out_track_id: str, user_id: str, params: dict[str, str]) -> dict[str, Any]:
    """The ``data`` of a card button click, as in the real sample of notes §4."""
    content = json.dumps({"cardPrivateData": {"actionIds": ["button_node_fake"],
                                              "params": params}})
    return {"extension": "{}", "corpId": "ding-corp", "spaceType": "IM_GROUP", "userIdType": 1,
            "type": "actionCallback", "userId": user_id, "spaceId": "cidGroup001==",
            "outTrackId": out_track_id, "content": content, "value": content}
