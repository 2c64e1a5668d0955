"""Bodies the smart robot sends over its long connection (doc 101463; shapes from
WecomTeam/aibot-node-sdk ``src/types/api.ts`` and ``src/client.ts``):

- ``aibot_send_msg`` (proactive, SDK ``sendMessage``): ``{chatid, msgtype: "markdown",
  markdown: {content}}`` or ``{chatid, msgtype: "template_card", template_card}``; ``chatid`` is
  the member's userid in a 1:1 chat, the group's chatid in a group;
- ``aibot_respond_update_msg`` (SDK ``updateTemplateCard``, within 5 s of the click, under the
  click callback's req_id): ``{response_type: "update_template_card", userids, template_card}``
  with the ``task_id`` the click came from.

The ``template_card`` itself is the same button_interaction card the self-built app sends
(``bot.wecom.cards``). A handled card has no buttons left, but a button_interaction card needs
one and a text_notice card needs a link (``card_action``): it keeps one greyed-looking button
naming who handled it, whose key is no action reference, so a tap on it does nothing.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.model import Button, Card
from bot.wecom.cards import handled_label, render_markdown, render_template_card

SOURCE = "orderbot"


def markdown(chatid: str, content: str) -> dict[str, Any]:
    return {"chatid": chatid, "msgtype": "markdown", "markdown": {"content": content}}


def send_card(chatid: str, card: Card, task: str) -> dict[str, Any]:
    """A new card: interactive when it has buttons, else markdown (nothing to click)."""
    if not card.buttons:
        return markdown(chatid, render_markdown(card))
    return {"chatid": chatid, "msgtype": "template_card",
            "template_card": template_card(card, task)}


def update_card(userids: list[str], card: Card, task: str) -> dict[str, Any]:
    """The clicked card replaced for ``userids`` (its ``task`` is the clicked card's)."""
    return {"response_type": "update_template_card", "userids": userids,
            "template_card": template_card(card, task)}


def template_card(card: Card, task: str) -> dict[str, Any]:
    """button_interaction JSON with our ``task_id``; a handled card keeps an inert button."""
    if not card.buttons:
        inert = Button(action="done", payload=f"done-{card.card_id}",
                       label=handled_label(card.status))
        card = replace(card, buttons=(inert,))
    return render_template_card(card, SOURCE) | {"task_id": task}
