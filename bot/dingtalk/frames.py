"""DingTalk stream frames -> neutral ``InboundMessage`` / ``CardAction``.

The SDK has already turned the frame's ``data`` (a JSON string) into a dict; we reuse its own
parsers (``ChatbotMessage.from_dict``, ``CardCallbackMessage.from_dict``) so field names follow
the SDK, then map to the neutral model. Field meanings: notes/dingtalk.md §1.4 and §4.
Card buttons are built (bot/dingtalk/cards.py) to call back with params
``{"payload": "act:v1:<id>:<verb>", "version": "<card version>"}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from dingtalk_stream import CardCallbackMessage, ChatbotMessage

from bot.model import CardAction, InboundMessage, parse_payload

log = logging.getLogger("orderbot.dingtalk")

GROUP_CHAT = "2"


def from_millis(value: Any, fallback: datetime) -> datetime:
    """DingTalk's millisecond timestamps -> aware UTC (``fallback`` when absent or bad)."""
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return fallback


def robot_message(data: Mapping[str, Any], received: datetime) -> InboundMessage | None:
    """A robot message (topic ``/v1.0/im/bot/messages/get``); None for non-text types.

    A group is answered in its ``openConversationId``; a 1:1 robot chat has no address but the
    user's (batchSend ``userIds``, card space ``IM_ROBOT.<userId>``), so there the sender's id
    is the conversation: the ``cid...`` of a single chat cannot be sent to."""
    message = ChatbotMessage.from_dict(dict(data))
    if message.message_type != "text" or message.text is None:
        log.info("ignoring DingTalk %s message %s", message.message_type, message.message_id)
        return None
    if not message.message_id or not message.conversation_id:
        raise ValueError("robot message without msgId/conversationId")
    is_group = str(message.conversation_type) == GROUP_CHAT
    sender = str(message.sender_staff_id or message.sender_id or "")
    return InboundMessage(
        platform="dingtalk", message_id=str(message.message_id), sender_id=sender,
        sender_name=str(message.sender_nick or ""),
        conversation_id=str(message.conversation_id) if is_group else sender,
        is_group=is_group,
        text=str(message.text.content or "").strip(),
        mentions_bot=bool(message.is_in_at_list) or not is_group,
        at=from_millis(message.create_at, received),
    )


def card_callback(data: Mapping[str, Any], callback_id: str, received: datetime) -> CardAction:
    """A card button click (topic ``/v1.0/card/instances/callback``)."""
    callback = CardCallbackMessage.from_dict(dict(data))
    params = _params(callback.content)
    payload = str(params.get("payload", ""))
    ref = parse_payload(payload)
    if not callback.card_instance_id or not callback.user_id:
        raise ValueError("card callback without outTrackId/userId")
    return CardAction(
        platform="dingtalk", callback_id=callback_id, card_id=str(callback.card_instance_id),
        action=ref.verb if ref else "", payload=payload, actor_id=str(callback.user_id),
        card_version=_version(params.get("version")), at=received,
    )


def _params(content: Any) -> Mapping[str, Any]:
    private = content.get("cardPrivateData", {}) if isinstance(content, Mapping) else {}
    params = private.get("params", {}) if isinstance(private, Mapping) else {}
    return params if isinstance(params, Mapping) else {}


def _version(value: Any) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0
