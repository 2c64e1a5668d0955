"""Decrypted WeCom callback XML -> neutral ``InboundMessage`` / ``CardAction``.

Only two shapes matter to orderbot (WeCom docs 90239 and 90240): ``MsgType=text`` and
``Event=template_card_event``. Everything else (images, enter_agent, menu events ...) is
acknowledged and ignored, so WeCom does not retry it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from bot.model import CardAction, InboundMessage, parse_payload
from bot.wecom.crypto import WeComDecryptError, parse_xml
from core.clock import from_unix

log = logging.getLogger("orderbot.wecom")

TASK_SEPARATOR = "@"


@dataclass(frozen=True, slots=True)
class Parsed:
    """One callback turned into a neutral item plus the key that identifies a redelivery."""

    item: InboundMessage | CardAction
    dedup_key: str


def task_id_for(card_id: str, version: int) -> str:
    """``task_id`` of a card sent at ``version`` (``[0-9A-Za-z_-@]``, unique per app)."""
    return f"{card_id}{TASK_SEPARATOR}{version}"


def split_task_id(task_id: str) -> tuple[str, int]:
    """Inverse of ``task_id_for``; a foreign task id gives ``(task_id, 0)`` (version unknown)."""
    card_id, separator, version = task_id.rpartition(TASK_SEPARATOR)
    if separator and card_id and version.isdigit():
        return card_id, int(version)
    return task_id, 0


def parse_callback(xml_text: str) -> Parsed | None:
    """The neutral item in one decrypted callback, or None when orderbot ignores its type."""
    root = parse_xml(xml_text)
    msg_type = _text(root, "MsgType")
    if msg_type == "text":
        return _text_message(root)
    if msg_type == "event" and _text(root, "Event") == "template_card_event":
        return _card_event(root)
    log.debug("ignoring WeCom callback MsgType=%s Event=%s", msg_type, _text(root, "Event"))
    return None


def _text_message(root: Element) -> Parsed:
    msg_id = _required(root, "MsgId")
    sender = _required(root, "FromUserName")
    message = InboundMessage(
        platform="wecom", message_id=msg_id, sender_id=sender, sender_name="",
        conversation_id=sender, is_group=False, text=_text(root, "Content").strip(),
        mentions_bot=True, at=from_unix(_required(root, "CreateTime"), "CreateTime"),
    )
    return Parsed(message, f"wecom:msg:{msg_id}")


def _card_event(root: Element) -> Parsed:
    actor = _required(root, "FromUserName")
    created = _required(root, "CreateTime")
    event_key = _text(root, "EventKey")
    response_code = _text(root, "ResponseCode")
    card_id, version = split_task_id(_required(root, "TaskId"))
    ref = parse_payload(event_key)
    callback_id = response_code or f"{actor}:{created}:{event_key}"
    action = CardAction(
        platform="wecom", callback_id=callback_id, card_id=card_id,
        action=ref.verb if ref else "", payload=event_key, actor_id=actor,
        card_version=version, at=from_unix(created, "CreateTime"), update_token=response_code,
    )
    return Parsed(action, f"wecom:card:{callback_id}")


def _text(root: Element, tag: str) -> str:
    return (root.findtext(tag) or "").strip()


def _required(root: Element, tag: str) -> str:
    value = _text(root, tag)
    if not value:
        raise WeComDecryptError(f"callback has no {tag}")
    return value
