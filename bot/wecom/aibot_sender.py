"""``ChatSender`` for the WeCom smart robot: one outbox row -> one frame on the long connection.

Texts and cards go out with ``aibot_send_msg`` (the robot's proactive send). A card update
for the member who clicked goes out with ``aibot_respond_update_msg`` under the click's req_id
while the click is younger than ``update_window_s`` (WeCom accepts it for 5 s); later, or for
every other holder, or when WeCom refuses the update, the new card is sent anew.

Failures: no link or no ack within ``ack_timeout_s`` propagate, and the outbox retries with
backoff (only the leader process, whose link is up, is handed these rows at all). An ack with
an errcode is final unless the errcode says "busy / too many calls" (WeCom's global codes -1,
45009, 45033, doc 90313), which is retried too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from bot.model import Card
from bot.wecom import aibot_frames as frames
from bot.wecom import aibot_messages as messages
from bot.wecom.longconn import LongConnection
from bot.wecom.settings import WeComBotSettings
from core.outbox import OutboxItem, OutKind, card_of
from handlers.ports import PermanentDeliveryError

log = logging.getLogger("orderbot.wecom.bot")

GROUP = "group:"
RETRYABLE = frozenset({-1, 45009, 45033})


class BotBusyError(RuntimeError):
    """WeCom acked with a "try again later" errcode."""


class WeComBotSender:
    def __init__(self, link: LongConnection, settings: WeComBotSettings,
                 clock: Callable[[], float] = time.time) -> None:
        self._link, self._settings, self._clock = link, settings, clock

    async def deliver(self, item: OutboxItem, reference: str | None) -> str | None:
        message = item.message
        chatid = message.conversation.removeprefix(GROUP)
        if message.kind is OutKind.TEXT:
            await self._send(messages.markdown(chatid, str(message.payload["text"])))
            return None
        card = card_of(message)
        token = str(message.payload.get("update_token", ""))
        if message.kind is OutKind.CARD_UPDATE and token and await self._update(chatid, card,
                                                                                token):
            return None
        await self._send(messages.send_card(chatid, card,
                                            frames.task_id(card.card_id, card.version, item.id)))
        return None

    async def _update(self, userid: str, card: Card, token: str) -> bool:
        """Replace the clicked card in place; False when too late or refused (send anew)."""
        parsed = frames.parse_update_token(token)
        if parsed is None or self._clock() - parsed[0] > self._settings.update_window_s:
            return False
        _, task, req_id = parsed
        ack = await self._link.request(frames.RESPOND_UPDATE,
                                       messages.update_card([userid], card, task), req_id)
        if not ack.ok:
            log.info("WeCom bot card update refused (errcode %d %s); sending it anew",
                     ack.errcode, ack.errmsg)
        return ack.ok

    async def _send(self, body: Mapping[str, Any]) -> None:
        ack = await self._link.request(frames.SEND_MSG, body)
        if ack.ok:
            return
        if ack.errcode in RETRYABLE:
            raise BotBusyError(f"errcode {ack.errcode}: {ack.errmsg}")
        raise PermanentDeliveryError(f"errcode {ack.errcode}: {ack.errmsg}")
