"""微信客服 (WeCom customer service, "kf"): WeChat users chat with a kf account of the company
(its link or QR code). The shapes of that protocol, as WeCom doc 94670 (接收消息和事件) and
doc 94677/96427 (发送消息) define them.

The flow differs from the self-built app's messages: the callback carries no message, only
``<Event>kf_msg_or_event</Event>`` with a ``Token`` (valid 10 min) and the ``OpenKfId`` that
has news, on the app's usual callback URL with the usual crypto. The service then reads the
messages with ``kf/sync_msg`` (cursor paging: ``next_cursor``, ``has_more``) and answers with
``kf/send_msg``. A message read is an ``InboundMessage`` on platform ``wecom_kf`` whose sender is
the customer's ``external_userid`` and whose conversation names the kf account too (a reply
needs both); from there it takes the customer-desk path every other chat customer takes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.model import InboundMessage, Platform
from bot.wecom.crypto import parse_xml
from core.clock import from_unix

log = logging.getLogger("orderbot.wecom.kf")

PLATFORM: Platform = "wecom_kf"
EVENT = "kf_msg_or_event"
ORIGIN_CUSTOMER = 3  # origin: 3 the WeChat customer, 4 a system event, 5 a servicer
SEPARATOR = "/"  # open_kfid and external_userid are [0-9A-Za-z_-]: "/" never occurs in them


@dataclass(frozen=True, slots=True)
class KfEvent:
    """``kf_msg_or_event``: account ``open_kfid`` has news; ``token`` lets ``kf/sync_msg`` read
    it at the normal rate (without a token the call is strictly rate-limited)."""

    open_kfid: str
    token: str


@dataclass(frozen=True, slots=True)
class KfPage:
    """One ``kf/sync_msg`` answer: its messages, the cursor after them, whether more follow."""

    messages: tuple[Mapping[str, Any], ...]
    next_cursor: str
    has_more: bool


def kf_event(xml_text: str) -> KfEvent | None:
    """The kf event in a decrypted callback, or None when the callback is something else."""
    root = parse_xml(xml_text)
    if (root.findtext("MsgType") or "").strip() != "event" or \
            (root.findtext("Event") or "").strip() != EVENT:
        return None
    open_kfid = (root.findtext("OpenKfId") or "").strip()
    if not open_kfid:
        raise ValueError("kf_msg_or_event without OpenKfId")
    return KfEvent(open_kfid, (root.findtext("Token") or "").strip())


def kf_page(reply: Mapping[str, Any]) -> KfPage:
    """A ``kf/sync_msg`` reply (errcode already checked)."""
    messages = reply.get("msg_list") or []
    if not isinstance(messages, list):
        raise ValueError("kf/sync_msg: msg_list is not a list")
    return KfPage(tuple(m for m in messages if isinstance(m, Mapping)),
                  str(reply.get("next_cursor") or ""), bool(reply.get("has_more")))


def conversation(open_kfid: str, external_userid: str) -> str:
    """The outbox address of a customer on a kf account: ``<open_kfid>/<external_userid>``."""
    return f"{open_kfid}{SEPARATOR}{external_userid}"


def split_conversation(address: str) -> tuple[str, str]:
    """Inverse of ``conversation``: (open_kfid, external_userid)."""
    open_kfid, separator, external_userid = address.partition(SEPARATOR)
    if not separator or not open_kfid or not external_userid:
        raise ValueError(f"not a kf conversation address: {address!r}")
    return open_kfid, external_userid


def dedup_key(message: InboundMessage) -> str:
    """The inbox key of a kf message: a page read twice (a crash, two processes) queues once."""
    return f"wecom_kf:msg:{message.message_id}"


def customer_text(message: Mapping[str, Any], *, now: datetime, max_age_s: float
                  ) -> InboundMessage | None:
    """A text the WeChat customer wrote (origin 3), as the message the desk answers; None
    for servicer replies, system events, non-text messages and messages older than
    ``max_age_s`` (a first sync reads 3 days back: those questions were not ours to answer)."""
    if message.get("origin") != ORIGIN_CUSTOMER or message.get("msgtype") != "text":
        return None
    msg_id, open_kfid = str(message.get("msgid") or ""), str(message.get("open_kfid") or "")
    customer = str(message.get("external_userid") or "")
    if not (msg_id and open_kfid and customer):
        log.warning("kf message without msgid/open_kfid/external_userid skipped")
        return None
    sent = from_unix(message.get("send_time", 0), "send_time")
    if (now - sent).total_seconds() > max_age_s:
        log.info("kf message %s from %s s ago read past (older than %s s)", msg_id,
                 int((now - sent).total_seconds()), int(max_age_s))
        return None
    text = message.get("text")
    content = str(text.get("content") or "") if isinstance(text, Mapping) else ""
    return InboundMessage(
        platform=PLATFORM, message_id=msg_id, sender_id=customer, sender_name="",
        conversation_id=conversation(open_kfid, customer), is_group=False,
        text=content.strip(), mentions_bot=True, at=sent)
