"""Frames of the WeCom smart robot's long connection (智能机器人长连接, doc 101463).

Every frame is JSON ``{"cmd", "headers": {"req_id"}, "body"}``. The server answers each frame
we send (subscribe, ping, a message) with a frame that has no ``cmd``, the same ``req_id`` and
``errcode``/``errmsg``. Command names and body fields are the official SDK's
(WecomTeam/aibot-node-sdk ``src/types/api.ts``, ``src/ws.ts``, ``src/types/message.ts``,
``src/types/event.ts``); the event body nests its details under the event's own name,
``event.template_card_event.{card_type, event_key, task_id, selected_items}`` (doc 101027
事件通用格式). The SDK's typings put ``event_key``/``task_id`` directly on ``event``; we read
the documented place first and fall back to that one.

Inbound callbacks become the neutral ``InboundMessage`` / ``CardAction`` with the dedup key
``wecom_bot:msg:<msgid>`` / ``wecom_bot:event:<msgid>`` (msgid: "本次回调的唯一性标志，用于
事件排重"). A card's ``task_id`` is ``<card_id>@<version>@<n>``: the smart robot refuses a
repeated task_id, so ``n`` (the outbox row) makes every send unique while the card id and
version still travel back with the click.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.model import CardAction, InboundMessage, Platform, parse_payload
from bot.wecom.messages import Parsed
from core.clock import from_unix

SUBSCRIBE = "aibot_subscribe"
PING = "ping"
SEND_MSG = "aibot_send_msg"
RESPOND_UPDATE = "aibot_respond_update_msg"
MSG_CALLBACK = "aibot_msg_callback"
EVENT_CALLBACK = "aibot_event_callback"
TEMPLATE_CARD_EVENT = "template_card_event"
DISCONNECTED_EVENT = "disconnected_event"
PLATFORM: Platform = "wecom_bot"


def new_req_id(prefix: str) -> str:
    """``<prefix>_<unix ms>_<8 hex>``, the SDK's ``generateReqId`` (src/utils.ts)."""
    return f"{prefix}_{int(time.time() * 1000)}_{secrets.token_hex(4)}"


def frame(cmd: str, body: Mapping[str, Any] | None = None, req_id: str = "") -> dict[str, Any]:
    """A frame to send; ``req_id`` defaults to a fresh one prefixed with ``cmd``."""
    sent: dict[str, Any] = {"cmd": cmd, "headers": {"req_id": req_id or new_req_id(cmd)}}
    if body is not None:
        sent["body"] = dict(body)
    return sent


def subscribe(bot_id: str, secret: str) -> dict[str, Any]:
    """The first frame on a connection (never log it: it carries the secret)."""
    return frame(SUBSCRIBE, {"bot_id": bot_id, "secret": secret})


def ping() -> dict[str, Any]:
    """The app-level heartbeat: ``{cmd: "ping", headers: {req_id}}`` without a body."""
    return frame(PING)


@dataclass(frozen=True, slots=True)
class Ack:
    """The server's answer to one of our frames."""

    req_id: str
    errcode: int
    errmsg: str

    @property
    def ok(self) -> bool:
        return self.errcode == 0


def req_id_of(received: Mapping[str, Any]) -> str:
    headers = received.get("headers")
    return str(headers.get("req_id", "")) if isinstance(headers, Mapping) else ""


def ack_of(received: Mapping[str, Any]) -> Ack | None:
    """The ack in a frame without ``cmd`` (None for pushes and for frames without req_id)."""
    req_id = req_id_of(received)
    if received.get("cmd") or not req_id:
        return None
    try:
        errcode = int(received.get("errcode", 0))
    except (TypeError, ValueError):
        errcode = -1
    return Ack(req_id, errcode, str(received.get("errmsg", "")))


def event_type(received: Mapping[str, Any]) -> str:
    """``body.event.eventtype`` of an event callback ("" for anything else)."""
    if received.get("cmd") != EVENT_CALLBACK:
        return ""
    event = _mapping(_mapping(received.get("body")).get("event"))
    return str(event.get("eventtype", ""))


def parse_callback(received: Mapping[str, Any], received_at: float) -> Parsed | None:
    """The neutral item in a message/event callback, or None when orderbot ignores its kind
    (images, files, enter_chat, feedback ...). Raises ValueError when a field the protocol
    promises is missing. ``received_at`` (unix s) starts the 5 s card-update window."""
    cmd, body = received.get("cmd"), _mapping(received.get("body"))
    if cmd == MSG_CALLBACK:
        return _message(body, received_at)
    if cmd == EVENT_CALLBACK and event_type(received) == TEMPLATE_CARD_EVENT:
        return _click(body, req_id_of(received), received_at)
    return None


def _message(body: Mapping[str, Any], received_at: float) -> Parsed | None:
    kind = body.get("msgtype")
    if kind not in ("text", "voice"):  # voice arrives transcribed in voice.content
        return None
    msg_id, sender = _required(body, "msgid"), _sender(body)
    group = body.get("chattype") == "group"
    message = InboundMessage(
        platform=PLATFORM, message_id=msg_id, sender_id=sender, sender_name="",
        conversation_id=_required(body, "chatid") if group else sender, is_group=group,
        text=str(_mapping(body.get(kind)).get("content", "")).strip(),
        mentions_bot=True, at=_created(body, received_at),
    )  # a group message reaches the robot only when it is @-mentioned
    return Parsed(message, f"{PLATFORM}:msg:{msg_id}")


def _click(body: Mapping[str, Any], req_id: str, received_at: float) -> Parsed:
    msg_id, actor = _required(body, "msgid"), _sender(body)
    event = _mapping(body.get("event"))
    detail = _mapping(event.get(TEMPLATE_CARD_EVENT)) or event
    event_key, task_id = _required(detail, "event_key"), _required(detail, "task_id")
    card_id, version = split_task_id(task_id)
    ref = parse_payload(event_key)
    action = CardAction(
        platform=PLATFORM, callback_id=msg_id, card_id=card_id,
        action=ref.verb if ref else "", payload=event_key, actor_id=actor,
        card_version=version, at=_created(body, received_at),
        update_token=update_token(received_at, task_id, req_id) if req_id else "",
    )
    return Parsed(action, f"{PLATFORM}:event:{msg_id}")


def task_id(card_id: str, version: int, nonce: int | str) -> str:
    """``task_id`` of one send of a card (``[0-9A-Za-z_-@]``, <= 128 bytes, never repeated)."""
    return f"{card_id}@{version}@{nonce}"


def split_task_id(value: str) -> tuple[str, int]:
    """``(card_id, version)`` of our task ids; a foreign one gives ``(value, 0)``."""
    parts = value.split("@")
    if len(parts) in (2, 3) and parts[0] and parts[1].isdigit():
        return parts[0], int(parts[1])
    return value, 0


def update_token(received_at: float, task: str, req_id: str) -> str:
    """What a click leaves for the card update: when it arrived, the card's task_id and the
    callback's req_id (``aibot_respond_update_msg`` must reuse both within 5 s)."""
    return f"{int(received_at * 1000)}:{task}:{req_id}"


def parse_update_token(token: str) -> tuple[float, str, str] | None:
    """Inverse of ``update_token``: ``(received_at, task_id, req_id)``, None if not ours."""
    millis, _, rest = token.partition(":")
    task, _, req_id = rest.partition(":")
    if not (millis.isdigit() and task and req_id):
        return None
    return int(millis) / 1000, task, req_id


def _sender(body: Mapping[str, Any]) -> str:
    return _required(_mapping(body.get("from")), "userid")


def _created(body: Mapping[str, Any], received_at: float) -> datetime:
    """``create_time`` (optional on messages, per the SDK typings), else when it arrived."""
    created = body.get("create_time")
    return from_unix(created if created else received_at, "create_time")


def _required(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, (str, int)) or isinstance(value, bool) or str(value) == "":
        raise ValueError(f"{key}: missing or not a string")
    return str(value)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
