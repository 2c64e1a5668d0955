"""The platform-neutral chat model: what handlers see, whatever the chat platform.

It lives in ``core`` (pure, frozen) because handlers build cards and read clicks, and handlers
may not import ``bot``; ``bot/model.py`` re-exports it with the inbox envelope helpers.

Each platform adapter (``bot/dingtalk``, ``bot/wecom``, ``bot/webchat``) parses its own frames
into ``InboundMessage`` / ``CardAction`` and renders ``Card`` into its own JSON, so handlers never
learn a platform's field names. Everything here is a frozen dataclass with an explicit JSON form,
because inbound items travel through the inbox (``Envelope.payload``) and cards through the outbox.

A button carries only a small typed reference, ``act:v1:<id>:<verb>``: amounts, evidence and
roles are reloaded from storage when the click arrives, so a forged payload can at most name an
action the clicking user must still be authorised for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from core.clock import parse_iso, require_aware, to_iso

Platform = Literal["dingtalk", "wecom", "wecom_bot", "wecom_kf", "webchat"]
ButtonStyle = Literal["primary", "default", "danger"]
PLATFORMS: tuple[str, ...] = ("dingtalk", "wecom", "wecom_bot", "wecom_kf", "webchat")

_REF_ID = r"[A-Za-z0-9_\-.]{1,64}"
_REF_VERB = r"[a-z][a-z0-9_]{0,31}"
_PAYLOAD = re.compile(rf"act:v1:({_REF_ID}):({_REF_VERB})")


@dataclass(frozen=True, slots=True)
class ActionRef:
    """The parsed form of a button payload: which record (``id``) and what to do (``verb``)."""

    id: str
    verb: str


def format_payload(ref_id: str, verb: str) -> str:
    """``("O123", "approve")`` -> ``"act:v1:O123:approve"``; refuses what would not parse back."""
    payload = f"act:v1:{ref_id}:{verb}"
    if _PAYLOAD.fullmatch(payload) is None:
        raise ValueError(f"not a valid action reference: id={ref_id!r} verb={verb!r}")
    return payload


def parse_payload(payload: str) -> ActionRef | None:
    """The reference in a button payload, or None: a payload that does not parse never matches."""
    match = _PAYLOAD.fullmatch(payload) if isinstance(payload, str) else None
    return ActionRef(match.group(1), match.group(2)) if match else None


@dataclass(frozen=True, slots=True)
class Button:
    """One card button. ``role_required`` is checked server-side when the click arrives."""

    action: str
    payload: str
    label: str
    style: ButtonStyle = "default"
    role_required: str = ""


@dataclass(frozen=True, slots=True)
class Card:
    """An interactive card. ``version`` rises with every update so a stale click is detectable.

    ``card_id`` is our own stable id (it becomes DingTalk's ``outTrackId`` and the prefix of
    WeCom's ``task_id``), so it is limited to ``[A-Za-z0-9_-]``.
    """

    card_id: str
    title: str
    body: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    image_url: str = ""
    buttons: tuple[Button, ...] = ()
    status: str = ""
    version: int = 1

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_\-]{1,96}", self.card_id):
            raise ValueError(f"card_id must be 1-96 of [A-Za-z0-9_-]: {self.card_id!r}")
        if self.version < 1:
            raise ValueError(f"card version must be >= 1: {self.version}")


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """A text message someone sent to the bot (1:1, or a group message that reached the bot)."""

    platform: Platform
    message_id: str
    sender_id: str
    sender_name: str
    conversation_id: str
    is_group: bool
    text: str
    mentions_bot: bool
    at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at, "InboundMessage.at"))


@dataclass(frozen=True, slots=True)
class CardAction:
    """A button click on one of our cards.

    ``callback_id`` is the platform's id of this click (dedup), ``update_token`` the handle the
    platform wants back to update the card for the clicker (WeCom ``ResponseCode``; empty where
    the card id is enough, as on DingTalk). ``card_version`` is 0 when the platform did not say.
    """

    platform: Platform
    callback_id: str
    card_id: str
    action: str
    payload: str
    actor_id: str
    card_version: int
    at: datetime
    update_token: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_aware(self.at, "CardAction.at"))

    @property
    def ref(self) -> ActionRef | None:
        """The typed reference in ``payload`` (None when it does not parse)."""
        return parse_payload(self.payload)


# --- JSON forms (Envelope.payload, outbox rows) -------------------------------------------

def card_to_json(card: Card) -> dict[str, Any]:
    """A card as plain JSON (lists, strings, ints)."""
    return {
        "card_id": card.card_id, "title": card.title, "body": card.body,
        "fields": [[key, value] for key, value in card.fields],
        "image_url": card.image_url,
        "buttons": [_button_to_json(button) for button in card.buttons],
        "status": card.status, "version": card.version,
    }


def card_from_json(data: Mapping[str, Any]) -> Card:
    """Inverse of ``card_to_json``; raises ValueError/KeyError/TypeError on a malformed dict."""
    return Card(
        card_id=str(data["card_id"]), title=str(data["title"]), body=str(data.get("body", "")),
        fields=tuple((str(k), str(v)) for k, v in data.get("fields", ())),
        image_url=str(data.get("image_url", "")),
        buttons=tuple(_button_from_json(b) for b in data.get("buttons", ())),
        status=str(data.get("status", "")), version=int(data.get("version", 1)),
    )


def _button_to_json(button: Button) -> dict[str, str]:
    return {"action": button.action, "payload": button.payload, "label": button.label,
            "style": button.style, "role_required": button.role_required}


def _button_from_json(data: Mapping[str, Any]) -> Button:
    style = str(data.get("style", "default"))
    if style not in ("primary", "default", "danger"):
        raise ValueError(f"unknown button style: {style!r}")
    return Button(action=str(data["action"]), payload=str(data["payload"]),
                  label=str(data["label"]), style=style,  # type: ignore[arg-type]
                  role_required=str(data.get("role_required", "")))


def inbound_to_json(message: InboundMessage) -> dict[str, Any]:
    """An inbound message as the payload of a ``receive_text`` envelope."""
    return {
        "platform": message.platform, "message_id": message.message_id,
        "sender_id": message.sender_id, "sender_name": message.sender_name,
        "conversation_id": message.conversation_id, "is_group": message.is_group,
        "text": message.text, "mentions_bot": message.mentions_bot, "at": to_iso(message.at),
    }


def inbound_from_json(data: Mapping[str, Any]) -> InboundMessage:
    """Inverse of ``inbound_to_json``."""
    return InboundMessage(
        platform=_platform(data["platform"]), message_id=str(data["message_id"]),
        sender_id=str(data["sender_id"]), sender_name=str(data["sender_name"]),
        conversation_id=str(data["conversation_id"]), is_group=bool(data["is_group"]),
        text=str(data["text"]), mentions_bot=bool(data["mentions_bot"]),
        at=parse_iso(str(data["at"]), "InboundMessage.at"),
    )


def card_action_to_json(action: CardAction) -> dict[str, Any]:
    """A click as the payload of a ``click_card`` envelope."""
    return {
        "platform": action.platform, "callback_id": action.callback_id,
        "card_id": action.card_id, "action": action.action, "payload": action.payload,
        "actor_id": action.actor_id, "card_version": action.card_version,
        "at": to_iso(action.at), "update_token": action.update_token,
    }


def card_action_from_json(data: Mapping[str, Any]) -> CardAction:
    """Inverse of ``card_action_to_json``."""
    return CardAction(
        platform=_platform(data["platform"]), callback_id=str(data["callback_id"]),
        card_id=str(data["card_id"]), action=str(data["action"]),
        payload=str(data["payload"]), actor_id=str(data["actor_id"]),
        card_version=int(data["card_version"]),
        at=parse_iso(str(data["at"]), "CardAction.at"),
        update_token=str(data.get("update_token", "")),
    )


def _platform(value: Any) -> Platform:
    if value not in PLATFORMS:
        raise ValueError(f"unknown platform: {value!r}")
    return value  # type: ignore[no-any-return]
