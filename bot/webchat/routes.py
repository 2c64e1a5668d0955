"""HTTP side of the web chat: the page, who you can be, history, typing, clicking, live events.

Typed text and clicks become ``receive_text`` / ``click_card`` envelopes on the inbox, exactly
like DingTalk and WeCom items, and are acknowledged at once; the workers do the rest and the
answer comes back through the outbox and the live websocket. The page is local and trusts the
person picker (it is the embedded default for newcomers and tests): bind the server to
127.0.0.1, or disable the web chat, where that is not acceptable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from bot.model import CardAction, InboundMessage, card_action_envelope, inbound_envelope
from bot.webchat.hub import Hub, event_of
from bot.workers import utcnow
from core.people import ROLE_LABELS, Directory
from handlers.chat_deps import ChatDeps
from handlers.ports import Inbox

log = logging.getLogger("orderbot.webchat")
PAGE = Path(__file__).with_name("page.html")
CUSTOMER = "customer"
_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True)
class Webchat:
    hub: Hub
    deps: ChatDeps
    inbox: Inbox
    sockets: set[web.WebSocketResponse] = field(default_factory=set)  # open live pages

    @property
    def directory(self) -> Directory:
        return self.deps.directory


WEBCHAT = web.AppKey("webchat", Webchat)


def routes() -> list[web.RouteDef]:
    return [web.get("/chat", page), web.get("/chat/api/people", people),
            web.get("/chat/api/history", history), web.post("/chat/api/send", send),
            web.post("/chat/api/click", click), web.get("/chat/ws", live)]


async def page(request: web.Request) -> web.Response:
    return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html",
                        headers={"Content-Security-Policy": "default-src 'self'; "
                                 "script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'"})


async def people(request: web.Request) -> web.Response:
    chat = request.app[WEBCHAT]
    found = [{"id": p.id, "name": p.name,
              "roles": [ROLE_LABELS[r] for r in sorted(p.roles)]} for p in chat.directory.people]
    return web.json_response([*found, {"id": CUSTOMER, "name": "顾客", "roles": []}])


def _who(request: web.Request, value: object) -> str:
    """The person the page speaks as: a known person id or "customer"."""
    who = str(value or "")
    if who != CUSTOMER and request.app[WEBCHAT].directory.get(who) is None:
        raise web.HTTPBadRequest(text="unknown person")
    return who


async def history(request: web.Request) -> web.Response:
    chat, who = request.app[WEBCHAT], _who(request, request.query.get("as"))
    async with chat.deps.new_uow() as uow:
        items = await uow.outbox.recent("webchat", who)
    return web.json_response([event_of(item) for item in items])


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise web.HTTPBadRequest(text="expected a JSON object") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def _client_id(value: object) -> str:
    """The page's own id of a message or click (a resubmit carries the same one)."""
    text = str(value or "")
    return text if 0 < len(text) <= 64 and set(text) <= _ID_CHARS else uuid.uuid4().hex


async def send(request: web.Request) -> web.Response:
    chat, body = request.app[WEBCHAT], await _body(request)
    who, text = _who(request, body.get("as")), str(body.get("text", "")).strip()[:2000]
    if not text:
        raise web.HTTPBadRequest(text="empty message")
    message_id = _client_id(body.get("id"))
    person = chat.directory.get(who)
    now = utcnow()
    message = InboundMessage(platform="webchat", message_id=message_id, sender_id=who,
                             sender_name=person.name if person else "顾客",
                             conversation_id=who, is_group=False, text=text,
                             mentions_bot=True, at=now)
    queued = await chat.inbox.put(inbound_envelope(message, f"webchat:msg:{message_id}", now))
    return web.json_response({"queued": queued, "id": message_id}, status=202)


async def click(request: web.Request) -> web.Response:
    chat, body = request.app[WEBCHAT], await _body(request)
    who = _who(request, body.get("as"))
    callback_id = _client_id(body.get("id"))
    try:
        version = int(body.get("version", 0))
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(text="version must be an integer") from None
    now = utcnow()
    payload = str(body.get("payload", ""))[:200]
    action = CardAction(platform="webchat", callback_id=callback_id,
                        card_id=str(body.get("card_id", ""))[:96],
                        action=payload.rsplit(":", 1)[-1], payload=payload, actor_id=who,
                        card_version=version, at=now)
    queued = await chat.inbox.put(card_action_envelope(action, f"webchat:click:{callback_id}",
                                                       now))
    return web.json_response({"queued": queued, "id": callback_id}, status=202)


async def live(request: web.Request) -> web.WebSocketResponse:
    chat, who = request.app[WEBCHAT], _who(request, request.query.get("as"))
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    queue = chat.hub.subscribe(who)
    pump = asyncio.create_task(_pump(queue, ws))
    chat.sockets.add(ws)
    try:
        async for message in ws:  # the page only listens; this notices it going away
            if message.type == WSMsgType.ERROR:
                break
    finally:
        chat.sockets.discard(ws)
        pump.cancel()
        chat.hub.unsubscribe(who, queue)
    return ws


async def close_sockets(app: web.Application) -> None:
    """``on_shutdown``: close every live page's socket (1001 Going Away; the page reconnects
    when the service is back). aiohttp waits for running handlers before the cleanup
    contexts, up to ``server.shutdown_timeout_s``, and a live socket's handler only returns
    when its socket closes; so without this an open tab held every Ctrl-C that long (aiohttp
    documentation, "Graceful shutdown": close websockets in an ``on_shutdown`` handler)."""
    chat = app.get(WEBCHAT)
    if chat is None:
        return
    sockets = list(chat.sockets)
    await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                           for ws in sockets), return_exceptions=True)
    if sockets:
        log.info("closed %d web chat socket(s) for shutdown", len(sockets))


async def _pump(queue: asyncio.Queue[dict[str, Any]], ws: web.WebSocketResponse) -> None:
    while not ws.closed:
        event = await queue.get()
        await ws.send_str(json.dumps(event, ensure_ascii=False))
