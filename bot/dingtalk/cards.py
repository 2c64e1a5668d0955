"""Neutral ``Card`` -> DingTalk interactive card ("advanced message card") request bodies.

DingTalk cards are templates built in the card builder (``card_template_id``); we only fill
its variables. Every ``cardParamMap`` value must be a string (notes/dingtalk.md §4), so lists
are JSON-encoded. The template contract orderbot expects (variables of ``card_template_id``):

| variable | content |
|---|---|
| ``title``, ``markdown``, ``status``, ``image_url`` | text (markdown for ``markdown``) |
| ``fields`` | JSON list of ``{"key", "value"}`` rows |
| ``buttons`` | JSON list of ``{"id", "text", "color", "params"}``; the template's button does
  a "callback request" with ``params`` = ``{"payload": "act:v1:<id>:<verb>", "version": "<n>"}`` |
| ``version``, ``card_id`` | our card version and id, as strings |
| ``actionable`` | ``"true"`` while buttons may be pressed; ``"false"`` greys them |

``outTrackId`` is our ``card_id``, so a click (its ``outTrackId``) maps back to the card and
an update (``PUT /v1.0/card/instances``) addresses the same instance.
"""

from __future__ import annotations

import json
from typing import Any

from bot.model import Card

_COLOR = {"primary": "blue", "default": "gray", "danger": "red"}
GROUP_SPACE = "dtv1.card//IM_GROUP."
ROBOT_SPACE = "dtv1.card//IM_ROBOT."


def card_params(card: Card) -> dict[str, str]:
    """The ``cardParamMap`` of ``card`` (strings only)."""
    buttons = [{"id": b.action, "text": b.label, "color": _COLOR[b.style],
                "params": {"payload": b.payload, "version": str(card.version)}}
               for b in card.buttons]
    return {
        "card_id": card.card_id, "title": card.title, "markdown": card.body,
        "status": card.status, "image_url": card.image_url, "version": str(card.version),
        "fields": _json([{"key": key, "value": value} for key, value in card.fields]),
        "buttons": _json(buttons), "actionable": "true" if card.buttons else "false",
    }


def create_and_deliver(card: Card, template_id: str, robot_code: str, *,
                       user_id: str = "", conversation_id: str = "") -> dict[str, Any]:
    """``POST /v1.0/card/instances/createAndDeliver`` body: to a 1:1 robot chat or a group."""
    if bool(user_id) == bool(conversation_id):
        raise ValueError("exactly one of user_id / conversation_id")
    body: dict[str, Any] = {
        "cardTemplateId": template_id, "outTrackId": card.card_id, "callbackType": "STREAM",
        "cardData": {"cardParamMap": card_params(card)}, "userIdType": 1,
    }
    if conversation_id:
        return body | {
            "openSpaceId": GROUP_SPACE + conversation_id,
            "imGroupOpenSpaceModel": {"supportForward": True},
            "imGroupOpenDeliverModel": {"robotCode": robot_code},
        }
    return body | {
        "openSpaceId": ROBOT_SPACE + user_id,
        "imRobotOpenSpaceModel": {"supportForward": True},
        "imRobotOpenDeliverModel": {"spaceType": "IM_ROBOT", "robotCode": robot_code},
    }


def update_instance(card: Card) -> dict[str, Any]:
    """``PUT /v1.0/card/instances`` body: new variables for every viewer of ``card``."""
    return {"outTrackId": card.card_id, "cardData": {"cardParamMap": card_params(card)},
            "cardUpdateOptions": {"updateCardDataByKey": True}}


def markdown_text(card: Card) -> str:
    """The card as markdown, for plain robot messages (no buttons: they cannot call back)."""
    lines = [f"#### {card.title}"]
    if card.status:
        lines.append(f"> {card.status}")
    if card.body:
        lines.append(card.body)
    lines.extend(f"- {key}: {value}" for key, value in card.fields)
    if card.image_url:
        lines.append(f"![]({card.image_url})")
    return "\n\n".join(lines)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
