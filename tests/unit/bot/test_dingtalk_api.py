"""DingTalk cards and OpenAPI client against the fake DingTalk OpenAPI."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from bot.dingtalk import cards
from bot.dingtalk.api import DingTalkApi, DingTalkApiError
from bot.dingtalk.settings import DingTalkSettings
from bot.model import Button, Card
from integrations.http import RateLimitedError
from tests.fakes.dingtalk import FakeDingTalk

CARD = Card(card_id="dup-O123", title="疑似重复订单 #O123", body="**两单**相似",
            fields=(("客户", "张*"),), version=2,
            buttons=(Button("merge", "act:v1:A42:merge", "合并", "primary"),
                     Button("cancel", "act:v1:A42:cancel", "取消", "danger")))
DELIVER = "/v1.0/card/instances/createAndDeliver"


def test_card_params_are_all_strings() -> None:
    params = cards.card_params(CARD)
    assert all(isinstance(value, str) for value in params.values())
    assert json.loads(params["buttons"]) == [
        {"id": "merge", "text": "合并", "color": "blue",
         "params": {"payload": "act:v1:A42:merge", "version": "2"}},
        {"id": "cancel", "text": "取消", "color": "red",
         "params": {"payload": "act:v1:A42:cancel", "version": "2"}}]
    assert json.loads(params["fields"]) == [{"key": "客户", "value": "张*"}]
    assert (params["version"], params["actionable"]) == ("2", "true")


def test_create_and_deliver_bodies() -> None:
    group = cards.create_and_deliver(CARD, "tpl.schema", "robot1", conversation_id="cid==")
    assert (group["outTrackId"], group["callbackType"], group["openSpaceId"]) == \
        ("dup-O123", "STREAM", "dtv1.card//IM_GROUP.cid==")
    assert group["imGroupOpenDeliverModel"] == {"robotCode": "robot1"}
    single = cards.create_and_deliver(CARD, "tpl.schema", "robot1", user_id="staff-1")
    assert single["openSpaceId"] == "dtv1.card//IM_ROBOT.staff-1"
    assert single["imRobotOpenDeliverModel"]["spaceType"] == "IM_ROBOT"
    with pytest.raises(ValueError, match="exactly one"):
        cards.create_and_deliver(CARD, "t", "r")


def test_markdown_text() -> None:
    assert cards.markdown_text(CARD) == "#### 疑似重复订单 #O123\n\n**两单**相似\n\n- 客户: 张*"


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as server:
        yield server


@pytest.fixture
async def api(fake: FakeDingTalk) -> AsyncIterator[DingTalkApi]:
    settings = DingTalkSettings(enabled=True, client_id=fake.client_id,
                                client_secret=fake.client_secret, api_base=fake.base_url,
                                card_template_id="tpl.schema")
    async with DingTalkApi(settings, attempts=3, base_delay=0.01) as client:
        yield client


async def test_send_and_update_card(fake: FakeDingTalk, api: DingTalkApi) -> None:
    await api.send_card(CARD, conversation_id="cidGroup001==")
    done = Card(card_id=CARD.card_id, title=CARD.title, status="已由 张三 确认 10:42", version=3)
    await api.update_card(done)
    (sent,) = fake.api_calls(DELIVER)
    assert (sent.method, sent.token) == ("POST", "dt-token-1")
    assert sent.body["cardData"]["cardParamMap"]["title"] == "疑似重复订单 #O123"
    (update,) = fake.api_calls("/v1.0/card/instances")
    assert update.method == "PUT"
    assert update.body["cardData"]["cardParamMap"]["actionable"] == "false"
    assert fake.tokens_issued == 1


async def test_robot_messages(fake: FakeDingTalk, api: DingTalkApi) -> None:
    await api.send_text_to_users(["staff-1"], "你好")
    await api.send_markdown_to_group("cid==", "日报", "**12** 单")
    (users,) = fake.api_calls("/v1.0/robot/oToMessages/batchSend")
    assert users.body == {"robotCode": fake.client_id, "userIds": ["staff-1"],
                          "msgKey": "sampleText", "msgParam": '{"content": "你好"}'}
    (group,) = fake.api_calls("/v1.0/robot/groupMessages/send")
    assert (group.body["openConversationId"], group.body["msgKey"]) == ("cid==", "sampleMarkdown")
    assert json.loads(group.body["msgParam"]) == {"title": "日报", "text": "**12** 单"}


async def test_throttling_and_outage_back_off(fake: FakeDingTalk, api: DingTalkApi) -> None:
    fake.fail_next(DELIVER, 429)
    fake.fail_next(DELIVER, 503)
    await api.send_card(CARD, user_id="staff-1")
    assert len(fake.api_calls(DELIVER)) == 3
    fake.fail_next(DELIVER, 429, times=3)
    with pytest.raises(RateLimitedError):
        await api.send_card(CARD, user_id="staff-1")


async def test_expired_token_is_refreshed_once(fake: FakeDingTalk, api: DingTalkApi) -> None:
    await api.send_text_to_users(["u"], "1")
    fake.expire_tokens()
    await api.send_text_to_users(["u"], "2")
    assert fake.tokens_issued == 2


async def test_bad_secret_is_an_api_error(fake: FakeDingTalk) -> None:
    settings = DingTalkSettings(client_id=fake.client_id, client_secret="wrong",
                                api_base=fake.base_url)
    async with DingTalkApi(settings) as api:
        with pytest.raises(DingTalkApiError, match="invalidClientIdOrSecret"):
            await api.send_text_to_users(["u"], "x")


async def test_batch_send_limits(api: DingTalkApi) -> None:
    with pytest.raises(ValueError, match="20"):
        await api.send_text_to_users([f"u{i}" for i in range(21)], "x")


async def test_failed_delivery_result_is_an_error(fake: FakeDingTalk, api: DingTalkApi) -> None:
    fake.deliver_fails = True
    with pytest.raises(DingTalkApiError, match="robot not in group"):
        await api.send_card(CARD, conversation_id="cid==")
