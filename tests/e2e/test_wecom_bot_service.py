"""The WeCom smart robot through the real service: ``build_app(config)`` with ``[wecom_bot]
enabled`` connects to the fake long-connection server (tests/fakes/wecom_aibot.py), puts what
WeCom pushes on the inbox and sends what the outbox holds over the same socket.

Transcript: 张三 (ZhangSan, agent) writes "查单 <id>" to the robot -> the order card comes back
by ``aibot_send_msg`` to his 1:1 chat (phone masked); a stranger is refused politely. A
suspected-duplicate card reaches both agents; 王五 (warehouse) taps "不是重复" -> refused by
role; a stranger's tap is refused; 张三's tap is delivered twice by WeCom (same msgid) and he
taps once more -> one effect, his card replaced in place by ``aibot_respond_update_msg`` under
the click's req_id (same task_id), the other agent gets the handled card anew. The server
closes the socket -> the service reconnects and answers again; a ``disconnected_event`` (a
connection elsewhere took over) -> the service stops connecting.
The long connection has no per-frame signature: the connection itself is authenticated
(bot_id/secret in ``aibot_subscribe``; a wrong secret never subscribes: test_wecom_bot_link).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.outbox_sender import SenderSettings
from bot.wecom.settings import WeComBotSettings
from core.people import REFUSAL_UNKNOWN_STAFF
from tests.e2e.chat_store import (
    ORDER,
    TWIN,
    announce,
    eventually,
    ingest,
    open_anomalies,
    order_events,
    scalar,
)
from tests.e2e.chat_support import chat_service
from tests.e2e.wecom_service import button_key  # the robot's cards are WeCom template cards
from tests.fakes.wecom_aibot import FakeAibot, Sent

UPDATE = "aibot_respond_update_msg"


@dataclass
class Service:
    fake: FakeAibot
    db: str


def bot_settings(fake: FakeAibot) -> WeComBotSettings:
    return WeComBotSettings(enabled=True, bot_id=fake.bot_id, secret=fake.secret,
                            ws_url=fake.url, heartbeat_s=0.2, reconnect_base_s=0.05,
                            reconnect_max_s=0.5, ack_timeout_s=2.0, leader_ttl_s=1.0)


@pytest.fixture
async def service(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    async with FakeAibot() as fake:
        config = Config(database=DatabaseConfig(url=sqlite_url), wecom_bot=bot_settings(fake),
                        inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0))
        async with chat_service(config, monkeypatch, settings=SenderSettings(poll_s=0.05)):
            await fake.wait_sessions(1)
            yield Service(fake, sqlite_url)


def cards_to(fake: FakeAibot, chatid: str) -> list[Sent]:
    return [s for s in fake.sends() if s.body["chatid"] == chatid and
            s.body["msgtype"] == "template_card"]


def texts_to(fake: FakeAibot, chatid: str) -> list[str]:
    return [s.body["markdown"]["content"] for s in fake.sends()
            if s.body["chatid"] == chatid and s.body["msgtype"] == "markdown"]


async def test_order_card_by_typing_and_strangers_refused(service: Service) -> None:
    fake = service.fake
    await ingest(service.db, ORDER)
    await fake.push_text("ZhangSan", f"查单 {ORDER.channel_order_id}")
    (card,) = await eventually(lambda: cards_to(fake, "ZhangSan"))
    template = card.body["template_card"]
    assert template["card_type"] == "button_interaction"
    assert template["main_title"]["title"] == f"订单 {ORDER.key}"
    rows = {row["keyname"]: row["value"] for row in template["horizontal_content_list"]}
    assert "138****" in rows["收件人"] and "文三路" not in rows["地址"]
    card_id = template["button_list"][0]["key"].split(":")[2]
    assert template["task_id"].startswith(card_id + "@")

    await fake.push_text("Mallory", f"查单 {ORDER.channel_order_id}")
    assert await eventually(lambda: texts_to(fake, "Mallory")) == [REFUSAL_UNKNOWN_STAFF]
    assert cards_to(fake, "Mallory") == []
    assert await eventually(lambda: fake.pings >= 2) and fake.kicks == 0


async def test_duplicate_card_click_acts_once_and_updates_the_card(service: Service) -> None:
    fake, db = service.fake, service.db
    await ingest(db, ORDER, TWIN)
    record = await announce(db, ["wecom_bot"])
    (card,) = await eventually(lambda: cards_to(fake, "ZhangSan"))
    await eventually(lambda: cards_to(fake, "LiSi"))
    task, key = card.body["template_card"]["task_id"], button_key(card, "not_duplicate")
    assert task.startswith(f"{record.card_id}@{record.version}@")

    await fake.push_click("WangWu", key, task)
    assert "需要客服或主管权限" in (await eventually(lambda: texts_to(fake, "WangWu")))[0]
    await fake.push_click("Mallory", key, task)
    assert await eventually(lambda: texts_to(fake, "Mallory")) == [REFUSAL_UNKNOWN_STAFF]
    assert fake.sends(UPDATE) == [] and await open_anomalies(db, TWIN.key) == 1

    first = await fake.push_click("ZhangSan", key, task, msgid="tap-1")
    await fake.push_click("ZhangSan", key, task, msgid="tap-1")  # WeCom delivers it again
    second = await fake.push_click("ZhangSan", key, task, msgid="tap-2")  # the double tap
    (update,) = await eventually(lambda: fake.sends(UPDATE))
    assert update.req_id in {first, second}  # whichever tap a worker took first acts
    assert update.body["response_type"] == "update_template_card"
    assert update.body["userids"] == ["ZhangSan"]
    replaced = update.body["template_card"]
    assert replaced["task_id"] == task and "已由 张三" in replaced["main_title"]["desc"]
    assert [b["text"] for b in replaced["button_list"]] == ["张三 确认不是重复"]
    lisi = await eventually(lambda: [t for t in texts_to(fake, "LiSi") if "已由 张三" in t])
    assert lisi  # the other holder's copy, sent anew (no click of hers to answer)
    told = await eventually(lambda: [t for t in texts_to(fake, "ZhangSan") if "处理" in t])
    assert "此卡片已由 张三 处理" in told[0]
    assert await order_events(db, TWIN.key, "anomaly_resolved") == 1
    assert await open_anomalies(db, TWIN.key) == 0
    await asyncio.sleep(0.3)
    assert len(fake.sends(UPDATE)) == 1


async def test_reconnects_after_a_server_close_and_stops_when_kicked(service: Service) -> None:
    fake = service.fake
    await ingest(service.db, ORDER)
    await fake.close_live()
    await fake.wait_sessions(2)
    await fake.push_text("ZhangSan", f"查单 {ORDER.channel_order_id}")
    await eventually(lambda: cards_to(fake, "ZhangSan"))

    await fake.kick_live()
    await asyncio.sleep(1.0)  # many reconnect delays (0.05 s doubling to 0.5 s)
    assert fake.sessions == 2 and not fake.live


async def test_a_send_wecom_does_not_ack_is_retried_by_the_outbox(service: Service) -> None:
    fake = service.fake
    await ingest(service.db, ORDER)
    fake.ack_sends = False
    await fake.push_text("ZhangSan", f"查单 {ORDER.channel_order_id}")
    (first,) = await eventually(lambda: cards_to(fake, "ZhangSan"))
    fake.ack_sends = True  # after the 2 s ack timeout the outbox backs off and tries again
    again = await eventually(lambda: cards_to(fake, "ZhangSan")[1:], within=15)
    assert again[0].body == first.body  # the same row: same task_id
    sent = "SELECT count(*) FROM outbox WHERE platform = 'wecom_bot' AND status = 'sent'"
    for _ in range(100):  # recorded once the ack is in
        if await scalar(service.db, sent) == 1:
            break
        await asyncio.sleep(0.05)
    assert await scalar(service.db, sent) == 1
