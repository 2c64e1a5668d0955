"""The smart robot's outbox sender over a real link to the fake server: which frame each outbox
row becomes, and which failures the outbox retries.

Transcript: a text goes out as markdown by ``aibot_send_msg`` (a group conversation by its
chatid); a card with buttons as a template_card whose task_id names the card, its version and
the outbox row; a clicked card is replaced by ``aibot_respond_update_msg`` under the click's
req_id while the click is fresh, and sent anew once the 5 s window has passed, or when WeCom
refuses the update; a send WeCom does not ack in time raises (retried), an errcode that is
not "busy" is a permanent refusal.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.wecom import aibot_frames as frames
from bot.wecom.aibot_sender import WeComBotSender
from bot.wecom.longconn import AckTimeoutError, LongConnection
from core.chat import Button, Card, format_payload
from core.outbox import OutboxItem, Outgoing, card_message, text_message
from handlers.ports import PermanentDeliveryError
from storage.inbox.memory import MemoryInbox
from tests.e2e.chat_store import eventually
from tests.e2e.test_wecom_bot_link import fast, running
from tests.fakes.wecom_aibot import FakeAibot

CARD = Card(card_id="sd-42", title="疑似重复订单", body="同一买家 40 秒内两单", version=2,
            fields=(("订单", "jd:88007001"),),
            buttons=(Button("not_duplicate", format_payload("sd-42", "not_duplicate"),
                            "不是重复", "primary"),))
HANDLED = Card(card_id="sd-42", title="疑似重复订单", status="已由 张三 确认不是重复 10:42",
               version=3)


@dataclass
class Bot:
    fake: FakeAibot
    sender: WeComBotSender
    now: list[float]


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    async with FakeAibot() as fake:
        settings = fast(fake)
        link = LongConnection(settings, MemoryInbox())
        now = [time.time()]
        async with running(link):
            await fake.wait_sessions(1)
            await eventually(lambda: link.ready)
            yield Bot(fake, WeComBotSender(link, settings, clock=lambda: now[0]), now)


def row(message: Outgoing, row_id: int = 7) -> OutboxItem:
    return OutboxItem(row_id, message, attempts=1, created_at=datetime.now(UTC))


async def test_texts_and_cards_are_proactive_sends(bot: Bot) -> None:
    await bot.sender.deliver(row(text_message("wecom_bot", "group:wrkSFfCg", "早上好")), None)
    await bot.sender.deliver(row(card_message("wecom_bot", "ZhangSan", CARD), 31), None)
    await bot.sender.deliver(row(card_message("wecom_bot", "LiSi", HANDLED)), None)
    text, card, handled = (s.body for s in bot.fake.sends())
    assert text == {"chatid": "wrkSFfCg", "msgtype": "markdown",
                    "markdown": {"content": "早上好"}}
    template = card["template_card"]
    assert (card["chatid"], card["msgtype"], template["task_id"]) == \
        ("ZhangSan", "template_card", "sd-42@2@31")
    assert frames.split_task_id(template["task_id"]) == ("sd-42", 2)
    assert template["button_list"] == [{"text": "不是重复", "style": 1,
                                        "key": "act:v1:sd-42:not_duplicate"}]
    assert handled["msgtype"] == "markdown" and "已由 张三" in handled["markdown"]["content"]


async def test_a_fresh_click_replaces_the_card_in_place(bot: Bot) -> None:
    req_id = await bot.fake.push_click("ZhangSan", "act:v1:sd-42:not_duplicate", "sd-42@2@31")
    token = frames.update_token(bot.now[0], "sd-42@2@31", req_id)
    update = card_message("wecom_bot", "ZhangSan", HANDLED, update=True, update_token=token)
    await bot.sender.deliver(row(update), None)
    (sent,) = bot.fake.sent
    assert (sent.cmd, sent.req_id) == ("aibot_respond_update_msg", req_id)
    assert sent.body["userids"] == ["ZhangSan"]
    assert sent.body["template_card"]["task_id"] == "sd-42@2@31"
    assert sent.body["template_card"]["main_title"]["desc"] == "已由 张三 确认不是重复 10:42"


async def test_a_late_or_refused_update_is_sent_anew(bot: Bot) -> None:
    req_id = await bot.fake.push_click("ZhangSan", "act:v1:sd-42:not_duplicate", "sd-42@2@31")
    late = frames.update_token(bot.now[0] - 6, "sd-42@2@31", req_id)
    await bot.sender.deliver(row(card_message("wecom_bot", "ZhangSan", HANDLED, update=True,
                                              update_token=late)), None)
    assert [s.cmd for s in bot.fake.sent] == ["aibot_send_msg"]
    unknown = frames.update_token(bot.now[0], "sd-42@2@31", "never-pushed")
    await bot.sender.deliver(row(card_message("wecom_bot", "ZhangSan", HANDLED, update=True,
                                              update_token=unknown)), None)
    assert [s.cmd for s in bot.fake.sent] == \
        ["aibot_send_msg", "aibot_respond_update_msg", "aibot_send_msg"]


async def test_no_ack_is_retried_and_a_refusal_is_final(bot: Bot) -> None:
    bot.fake.ack_sends = False
    with pytest.raises(AckTimeoutError):
        await bot.sender.deliver(row(text_message("wecom_bot", "ZhangSan", "在吗")), None)
    bot.fake.ack_sends = True
    with pytest.raises(PermanentDeliveryError, match="errcode 40058"):
        await bot.sender.deliver(row(card_message("wecom_bot", "", CARD)), None)
