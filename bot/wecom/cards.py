"""Neutral ``Card`` -> WeCom ``template_card`` JSON (button_interaction), and the update bodies.

Field names from WeCom docs 90236 (发送应用消息 / 模板卡片消息) and 94888/94945
(更新模版卡片消息). A button's ``key`` (the click's ``EventKey``, <= 1024 bytes) is the
neutral payload ``act:v1:<id>:<verb>``; ``task_id`` is ``<card_id>@<version>``. WeCom shows at
most 6 buttons and 6 horizontal rows, and cards without buttons go out as markdown instead
(``button_interaction`` requires a button list).
"""

from __future__ import annotations

import re
from typing import Any

from bot.model import Card
from bot.wecom.messages import task_id_for

MAX_BUTTONS = 6
MAX_ROWS = 6
_STYLE = {"primary": 1, "default": 2, "danger": 3}
_MARKDOWN_MARKS = re.compile(r"(\*\*|__|`|^#+\s*|^>\s*)", re.MULTILINE)


def render_template_card(card: Card, source: str = "",
                         task_version: int | None = None) -> dict[str, Any]:
    """The ``template_card`` object of a button_interaction card.

    ``task_version`` keeps the task_id of the version first sent (an update must not change it).
    """
    if not card.buttons:
        raise ValueError("a WeCom button_interaction card needs at least one button")
    body: dict[str, Any] = {
        "card_type": "button_interaction",
        "task_id": task_id_for(card.card_id, task_version or card.version),
        "main_title": _main_title(card),
        "button_list": [
            {"text": _clip(b.label, 10), "style": _STYLE[b.style], "key": b.payload}
            for b in card.buttons[:MAX_BUTTONS]
        ],
    }
    if source:
        body["source"] = {"desc": _clip(source, 13), "desc_color": 0}
    if card.body:
        body["sub_title_text"] = _clip(plain_text(card.body), 112)
    if card.fields:
        body["horizontal_content_list"] = [
            {"keyname": _clip(key, 5), "value": _clip(value, 26)}
            for key, value in card.fields[:MAX_ROWS]
        ]
    return body


def _main_title(card: Card) -> dict[str, str]:
    title = {"title": _clip(card.title, 36)}
    if card.status:
        title["desc"] = _clip(card.status, 44)
    return title


def render_markdown(card: Card) -> str:
    """The same card as WeCom markdown: for cards without buttons and for group webhooks."""
    lines = [f"**{card.title}**"]
    if card.status:
        lines.append(f'<font color="comment">{card.status}</font>')
    if card.body:
        lines.append(card.body)
    lines.extend(f"> {key}: {value}" for key, value in card.fields)
    return "\n".join(lines)


def card_message(card: Card, touser: list[str], agent_id: int, source: str = "") -> dict[str, Any]:
    """The ``message/send`` body for ``card`` (template_card, or markdown without buttons)."""
    base: dict[str, Any] = {"touser": "|".join(touser), "agentid": agent_id}
    if not card.buttons:
        return {**base, "msgtype": "markdown", "markdown": {"content": render_markdown(card)}}
    return {**base, "msgtype": "template_card",
            "template_card": render_template_card(card, source),
            "enable_duplicate_check": 1, "duplicate_check_interval": 1800}


def update_replace_name(userids: list[str], agent_id: int, response_code: str,
                        replace_name: str) -> dict[str, Any]:
    """``update_template_card`` body that greys the buttons with ``replace_name`` ("已同意")."""
    return {"userids": userids, "agentid": agent_id, "response_code": response_code,
            "button": {"replace_name": _clip(replace_name, 10)}}


def update_whole_card(userids: list[str], agent_id: int, response_code: str, card: Card,
                      sent_version: int, source: str = "") -> dict[str, Any]:
    """``update_template_card`` body that replaces the card, keeping the task_id it was sent
    with (``sent_version``)."""
    return {"userids": userids, "agentid": agent_id, "response_code": response_code,
            "template_card": render_template_card(card, source, sent_version)}


def handled_label(status: str) -> str:
    """The greyed button text after a final action: "已由 张三 确认 10:42" -> "张三 确认"."""
    words = status.removeprefix("已由 ").rsplit(" ", 1)[0] if status else ""
    return words or "已处理"


def plain_text(markdown: str) -> str:
    """Markdown emphasis and heading marks removed: sub_title_text is plain text."""
    return _MARKDOWN_MARKS.sub("", markdown).strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
