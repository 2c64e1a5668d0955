"""DingTalk through the real service: ``build_app(config)`` with ``[dingtalk] enabled`` starts
the real dingtalk-stream client against the fake gateway and sends through the fake OpenAPI.

Transcript: 张三 (agent, staff-001) writes "查单 <id>" to the robot -> the order card is
created and delivered to his 1:1 robot chat (phone masked); a stranger @-mentions the robot in
a group -> the group gets the polite refusal. A suspected-duplicate card reaches both agents;
王五 (warehouse) taps "不是重复" -> refused by role; a click on a card id that is not ours ->
"expired"; 张三 taps it -> the frame is redelivered (same messageId) and he taps once more ->
one effect (one order event, anomaly resolved), the card instance is updated for everyone and
the second tap is told "此卡片已由 张三 处理".
DingTalk stream frames carry no per-message signature: the connection itself is authenticated
(clientSecret + one-time ticket; a wrong secret never connects: test_dingtalk_stream.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.dingtalk.settings import DingTalkSettings
from bot.outbox_sender import SenderSettings
from core.people import REFUSAL_UNKNOWN_STAFF
from tests.e2e.chat_store import (
    ORDER,
    TWIN,
    announce,
    eventually,
    ingest,
    open_anomalies,
    order_events,
)
from tests.e2e.chat_support import chat_service
from tests.fakes.dingtalk import (
    CARD_TOPIC,
    ROBOT_TOPIC,
    ApiCall,
    FakeDingTalk,
    card_callback_data,
    robot_text_data,
)

DELIVER = "/v1.0/card/instances/createAndDeliver"
UPDATE = "/v1.0/card/instances"
BATCH_SEND = "/v1.0/robot/oToMessages/batchSend"
GROUP_SEND = "/v1.0/robot/groupMessages/send"


@dataclass
class Service:
    fake: FakeDingTalk
    db: str


@pytest.fixture
async def service(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    async with FakeDingTalk() as fake:
        dingtalk = DingTalkSettings(enabled=True, client_id=fake.client_id,
                                    client_secret=fake.client_secret,
                                    card_template_id="orderbot.schema", api_base=fake.base_url,
                                    reconnect_delay_s=0.1)
        config = Config(database=DatabaseConfig(url=sqlite_url), dingtalk=dingtalk,
                        inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0))
        async with chat_service(config, monkeypatch, settings=SenderSettings(poll_s=0.05)):
            await fake.wait_connected()
            yield Service(fake, sqlite_url)


def params(call: ApiCall) -> dict[str, Any]:
    return dict(call.body["cardData"]["cardParamMap"])


def delivered_to(fake: FakeDingTalk, space: str) -> list[ApiCall]:
    return [c for c in fake.api_calls(DELIVER) if c.body["openSpaceId"].endswith(space)]


def texts_to(fake: FakeDingTalk, user: str) -> list[str]:
    return [json.loads(c.body["msgParam"])["content"] for c in fake.api_calls(BATCH_SEND)
            if c.body["userIds"] == [user]]


async def click(fake: FakeDingTalk, card: ApiCall, verb: str, user: str,
                message_id: str | None = None) -> str:
    """``user`` taps the button ``verb`` of the delivered ``card`` (its own callback params)."""
    data = card_callback_data(card.body["outTrackId"], user, _button(card, verb))
    frame_id = await fake.push(CARD_TOPIC, data, message_id=message_id)
    assert (await fake.wait_ack(frame_id, count=1))["code"] == 200
    return frame_id


async def test_order_card_by_typing_and_strangers_refused(service: Service) -> None:
    fake = service.fake
    await ingest(service.db, ORDER)
    text = f"查单 {ORDER.channel_order_id}"
    frame = await fake.push(ROBOT_TOPIC, robot_text_data(text, msg_id="m1", group=False))
    assert (await fake.wait_ack(frame))["code"] == 200
    (card,) = await eventually(lambda: delivered_to(fake, "IM_ROBOT.staff-001"))
    assert card.token.startswith("dt-token-") and card.body["callbackType"] == "STREAM"
    assert params(card)["title"] == f"订单 {ORDER.key}"
    fields = {f["key"]: f["value"] for f in json.loads(params(card)["fields"])}
    assert "138****" in fields["收件人"] and "文三路" not in fields["地址"]

    stranger = robot_text_data(f"@订单助手 查单 {ORDER.channel_order_id}", msg_id="m2",
                               staff_id="staff-999", nick="路人")
    await fake.push(ROBOT_TOPIC, stranger)
    (refusal,) = await eventually(lambda: fake.api_calls(GROUP_SEND))
    assert refusal.body["openConversationId"] == "cidGroup001=="
    assert json.loads(refusal.body["msgParam"])["content"] == REFUSAL_UNKNOWN_STAFF
    assert len(fake.api_calls(DELIVER)) == 1  # the stranger got no card


async def test_duplicate_card_click_acts_once_and_updates_the_card(service: Service) -> None:
    fake, db = service.fake, service.db
    await ingest(db, ORDER, TWIN)
    record = await announce(db, ["dingtalk"])
    (card,) = await eventually(lambda: delivered_to(fake, "IM_ROBOT.staff-001"))
    await eventually(lambda: delivered_to(fake, "IM_ROBOT.staff-002"))  # 李四 is an agent too
    assert card.body["outTrackId"] == record.card_id

    await click(fake, card, "not_duplicate", "staff-003")  # 王五, warehouse
    assert "需要客服或主管权限" in (await eventually(lambda: texts_to(fake, "staff-003")))[0]
    forged = card_callback_data("dup-not-ours", "staff-001",
                                {"payload": "act:v1:dup-not-ours:not_duplicate", "version": "1"})
    await fake.push(CARD_TOPIC, forged)
    assert "已失效" in (await eventually(lambda: texts_to(fake, "staff-001")))[0]
    await click(fake, card, "not_duplicate", "staff-404")  # not staff at all
    assert await eventually(lambda: texts_to(fake, "staff-404")) == [REFUSAL_UNKNOWN_STAFF]
    assert fake.api_calls(UPDATE) == [] and await open_anomalies(db, TWIN.key) == 1

    frame_id = await click(fake, card, "not_duplicate", "staff-001")
    await fake.push(CARD_TOPIC, card_callback_data(card.body["outTrackId"], "staff-001",
                                                   _button(card, "not_duplicate")),
                    message_id=frame_id)  # DingTalk redelivers a late-ACKed frame
    await fake.wait_ack(frame_id, count=2)
    await click(fake, card, "not_duplicate", "staff-001")  # the double tap
    updates = await eventually(lambda: fake.api_calls(UPDATE))
    new = params(updates[0])
    assert updates[0].method == "PUT" and updates[0].body["outTrackId"] == record.card_id
    assert new["status"].startswith("已由 张三 确认不是重复") and new["actionable"] == "false"
    assert int(new["version"]) == int(params(card)["version"]) + 1
    told = await eventually(lambda: [t for t in texts_to(fake, "staff-001") if "处理" in t])
    assert "此卡片已由 张三 处理" in told[0]
    assert await order_events(db, TWIN.key, "anomaly_resolved") == 1
    assert await open_anomalies(db, TWIN.key) == 0
    assert {params(u)["status"] for u in fake.api_calls(UPDATE)} == {new["status"]}


def _button(card: ApiCall, verb: str) -> dict[str, str]:
    (button,) = [b for b in json.loads(params(card)["buttons"])
                 if b["params"]["payload"].endswith(":" + verb)]
    return dict(button["params"])
