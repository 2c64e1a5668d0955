"""``ChatSender`` for DingTalk and WeCom: one outbox row -> one OpenAPI call.

Conversation addresses in the outbox: a user id for a 1:1 chat, ``group:<id>`` for a group.
Refusals retrying cannot fix (bad recipient, bad request) raise ``PermanentDeliveryError`` so
the conversation moves on; throttling, 5xx and transport errors propagate and the outbox
sender retries them with backoff. Give the API clients ``attempts=1``: the outbox, not the
client, owns retries, so an outage never holds a delivery round for long.
"""

from __future__ import annotations

from bot.dingtalk.api import DingTalkApi, DingTalkApiError
from bot.wecom.api import WeComApi, WeComApiError
from bot.wecom.cards import handled_label, render_markdown
from core.outbox import OutboxItem, OutKind, card_of
from handlers.ports import PermanentDeliveryError

GROUP = "group:"


def _split(conversation: str) -> tuple[str, str]:
    """``group:<id>`` -> ("", id); a user id -> (user id, "")."""
    if conversation.startswith(GROUP):
        return "", conversation[len(GROUP):]
    return conversation, ""


class DingTalkSender:
    def __init__(self, api: DingTalkApi) -> None:
        self._api = api

    async def deliver(self, item: OutboxItem, reference: str | None) -> str | None:
        try:
            return await self._deliver(item)
        except (DingTalkApiError, ValueError) as error:
            raise PermanentDeliveryError(str(error)) from error

    async def _deliver(self, item: OutboxItem) -> str | None:
        user, group = _split(item.message.conversation)
        kind = item.message.kind
        if kind is OutKind.CARD:
            await self._api.send_card(card_of(item.message), user_id=user, conversation_id=group)
        elif kind is OutKind.CARD_UPDATE:
            await self._api.update_card(card_of(item.message))  # one call updates every viewer
        elif group:
            await self._api.send_text_to_group(group, str(item.message.payload["text"]))
        else:
            await self._api.send_text_to_users([user], str(item.message.payload["text"]))
        return None


class WeComSender:
    """App messages to members (groups go through the group robot webhook as markdown)."""

    def __init__(self, api: WeComApi, source: str = "orderbot") -> None:
        self._api, self._source = api, source

    async def deliver(self, item: OutboxItem, reference: str | None) -> str | None:
        try:
            return await self._deliver(item, reference)
        except (WeComApiError, ValueError) as error:
            raise PermanentDeliveryError(str(error)) from error

    async def _deliver(self, item: OutboxItem, reference: str | None) -> str | None:
        user, group = _split(item.message.conversation)
        message, kind = item.message, item.message.kind
        if group:
            text = str(message.payload.get("text", "")) if kind is OutKind.TEXT else \
                card_of(message).title + "\n" + (card_of(message).status or "")
            await self._api.webhook_send({"msgtype": "markdown", "markdown": {"content": text}})
            return None
        if kind is OutKind.TEXT:
            await self._api.send_text([user], str(message.payload["text"]))
            return None
        card = card_of(message)
        click = str(message.payload.get("update_token", ""))  # the click's own ResponseCode
        token = click or reference
        if kind is OutKind.CARD_UPDATE and token:
            if card.buttons:
                await self._api.update_card([user], token, card, sent_version=1,
                                            source=self._source)
            else:
                await self._api.update_card_buttons([user], token, handled_label(card.status))
            # A response_code updates the card once (WeCom doc 94888 / 94945): a send's code
            # used here is spent, recorded as "" so the next update does not reuse it.
            return None if click else ""
        if kind is OutKind.CARD_UPDATE and not card.buttons:
            # no handle left and nothing to tap (a button_interaction card needs a button):
            # the card's new state as a message, so the person still sees what happened
            await self._api.send_markdown([user], render_markdown(card))
            return None
        sent = await self._api.send_card([user], card, self._source)  # new, or no handle left
        return sent.response_code or None
