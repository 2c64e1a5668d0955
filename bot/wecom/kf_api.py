"""微信客服 calls on the self-built app's client, and the outbox's sender for kf customers.

``WeComKfApi`` is ``WeComApi`` plus ``kf/sync_msg`` and ``kf/send_msg``: the same token cache
(the app's corp token; it must be listed in 微信客服 -> 可调用接口的应用) and the same errcode
handling (40014/42001/41001 -> new token, retry once; 45009/45033/-1 -> ``RateLimitedError``
for the caller's backoff; anything else -> ``WeComApiError``).

``KfSender`` delivers the customer desk's text answers. ``kf/send_msg`` accepts at most 5
messages within 48 h of the customer's last message and a text of at most 2048 bytes (doc
94677); WeCom's refusals (a closed session, 95018 ...) are permanent for that message. Each
send carries its own ``msgid`` made from the outbox row, so a retried send that WeCom had in
fact accepted is refused instead of reaching the customer twice.
"""

from __future__ import annotations

from bot.wecom.api import WeComApi, WeComApiError
from bot.wecom.kf import KfPage, kf_page, split_conversation
from core.outbox import OutboxItem, OutKind
from handlers.ports import PermanentDeliveryError

SYNC_PATH = "/cgi-bin/kf/sync_msg"
SEND_PATH = "/cgi-bin/kf/send_msg"
MAX_TEXT_BYTES = 2048
PAGE_LIMIT = 1000  # the documented default and maximum


class WeComKfApi(WeComApi):
    async def sync_msg(self, open_kfid: str, cursor: str = "", token: str = "",
                       limit: int = PAGE_LIMIT) -> KfPage:
        """One page of the account's messages after ``cursor`` ("" = 3 days back)."""
        body: dict[str, object] = {"open_kfid": open_kfid, "limit": limit}
        if cursor:
            body["cursor"] = cursor
        if token:
            body["token"] = token
        return kf_page(await self._post(SYNC_PATH, body))

    async def send_kf_text(self, open_kfid: str, external_userid: str, content: str,
                           msgid: str = "") -> str:
        """A text to the customer; returns WeCom's msgid (``msgid`` when we chose one)."""
        body: dict[str, object] = {"touser": external_userid, "open_kfid": open_kfid,
                                   "msgtype": "text", "text": {"content": clip(content)}}
        if msgid:
            body["msgid"] = msgid
        reply = await self._post(SEND_PATH, body)
        return str(reply.get("msgid", msgid))


def clip(text: str, limit: int = MAX_TEXT_BYTES) -> str:
    """``text`` cut to ``limit`` UTF-8 bytes on a character boundary (with an ellipsis)."""
    raw = text.encode()
    if len(raw) <= limit:
        return text
    return raw[:limit - 3].decode("utf-8", "ignore") + "…"


def send_msgid(item: OutboxItem) -> str:
    """Unique per kf account for one outbox row ([0-9A-Za-z_-], at most 32 bytes); the time
    part keeps ids apart if the database (and its row ids) is ever recreated."""
    return f"ob{item.id}-{item.created_at:%y%m%d%H%M%S}"[:32]


class KfSender:
    """``ChatSender`` for platform ``wecom_kf``: text replies to WeChat customers."""

    def __init__(self, api: WeComKfApi) -> None:
        self._api = api

    async def deliver(self, item: OutboxItem, reference: str | None) -> str | None:
        if item.message.kind is not OutKind.TEXT:
            raise PermanentDeliveryError("only text goes to 微信客服 customers")
        try:
            open_kfid, customer = split_conversation(item.message.conversation)
            await self._api.send_kf_text(open_kfid, customer,
                                         str(item.message.payload["text"]), send_msgid(item))
        except (WeComApiError, ValueError) as error:
            raise PermanentDeliveryError(str(error)) from error
        return None
