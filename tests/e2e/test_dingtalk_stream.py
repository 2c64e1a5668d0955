"""The real dingtalk-stream SDK against a fake DingTalk gateway on the same event loop.

Transcript: our client opens a connection (clientId/secret), the gateway pushes a robot
message and a card click -> each is on the inbox as a neutral envelope and the gateway got an
ACK with the same messageId; a redelivered frame is ACKed again but queued once; the SDK still
answers SYSTEM pings; a SYSTEM disconnect makes it reconnect at once; stop() ends it cleanly.
The fake shares the test's event loop on purpose: the SDK's blocking open_connection would
deadlock here unless our client really keeps it off the loop (notes §2, gotcha a).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.dingtalk.settings import DingTalkSettings
from bot.dingtalk.stream import OrderbotStreamClient
from bot.model import card_action_from_json, format_payload, inbound_from_json
from tests.e2e.recording_inbox import RecordingInbox
from tests.fakes.dingtalk import (
    CARD_TOPIC,
    ROBOT_TOPIC,
    FakeDingTalk,
    card_callback_data,
    robot_text_data,
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeDingTalk]:
    async with FakeDingTalk() as gateway:
        yield gateway


@pytest.fixture
def inbox() -> RecordingInbox:
    return RecordingInbox()


@pytest.fixture
async def client(fake: FakeDingTalk, inbox: RecordingInbox) -> AsyncIterator[OrderbotStreamClient]:
    settings = DingTalkSettings(enabled=True, client_id=fake.client_id,
                                client_secret=fake.client_secret, api_base=fake.base_url,
                                reconnect_delay_s=0.1)
    stream = OrderbotStreamClient(settings, inbox)
    task = asyncio.create_task(stream.start())
    await fake.wait_connected()
    yield stream
    async with asyncio.timeout(5):
        await stream.stop()
    assert task.done()


async def test_connects_with_credentials_and_subscriptions(
        fake: FakeDingTalk, client: OrderbotStreamClient) -> None:
    (opened,) = fake.opens
    assert (opened["clientId"], opened["clientSecret"]) == (fake.client_id, fake.client_secret)
    assert {s["topic"] for s in opened["subscriptions"]} == {ROBOT_TOPIC, CARD_TOPIC}
    assert {s["type"] for s in opened["subscriptions"]} == {"CALLBACK"}


async def test_robot_message_is_queued_and_acked(
        fake: FakeDingTalk, client: OrderbotStreamClient, inbox: RecordingInbox) -> None:
    frame_id = await fake.push(ROBOT_TOPIC, robot_text_data("@订单助手 急单 1234", msg_id="msgA"))
    ack = await fake.wait_ack(frame_id)
    assert ack["code"] == 200
    assert ack["headers"]["messageId"] == frame_id
    (envelope,) = inbox.items
    assert (envelope.kind, envelope.dedup_key) == ("receive_text", f"dingtalk:{frame_id}")
    message = inbound_from_json(envelope.payload)
    assert (message.platform, message.message_id, message.sender_id, message.sender_name) == \
        ("dingtalk", "msgA", "staff-001", "张三")
    assert (message.conversation_id, message.is_group, message.mentions_bot) == \
        ("cidGroup001==", True, True)
    assert message.text == "@订单助手 急单 1234"


async def test_redelivered_frame_is_acked_but_queued_once(
        fake: FakeDingTalk, client: OrderbotStreamClient, inbox: RecordingInbox) -> None:
    data = robot_text_data("查单 1", msg_id="msgB", group=False, at_bot=False)
    frame_id = await fake.push(ROBOT_TOPIC, data)
    await fake.wait_ack(frame_id)
    await fake.push(ROBOT_TOPIC, data, message_id=frame_id)
    second = await fake.wait_ack(frame_id, count=2)
    assert second["code"] == 200
    assert len(inbox.items) == 1
    message = inbound_from_json(inbox.items[0].payload)
    assert (message.is_group, message.mentions_bot) == (False, True)


async def test_card_click_is_queued_and_acked(
        fake: FakeDingTalk, client: OrderbotStreamClient, inbox: RecordingInbox) -> None:
    params = {"payload": format_payload("A42", "merge"), "version": "3"}
    frame_id = await fake.push(CARD_TOPIC, card_callback_data("dup-O123", "staff-002", params))
    ack = await fake.wait_ack(frame_id)
    assert (ack["code"], ack["headers"]["messageId"]) == (200, frame_id)
    (envelope,) = inbox.items
    assert (envelope.kind, envelope.dedup_key) == ("click_card", f"dingtalk:{frame_id}")
    action = card_action_from_json(envelope.payload)
    assert (action.card_id, action.action, action.actor_id, action.card_version) == \
        ("dup-O123", "merge", "staff-002", 3)
    assert action.payload == "act:v1:A42:merge"


async def test_unparseable_frame_is_acked_and_dropped(
        fake: FakeDingTalk, client: OrderbotStreamClient, inbox: RecordingInbox) -> None:
    frame_id = await fake.push(CARD_TOPIC, {"content": "{}"})
    assert (await fake.wait_ack(frame_id))["code"] == 200
    assert inbox.items == []


async def test_inbox_down_is_not_acked_ok(
        fake: FakeDingTalk, client: OrderbotStreamClient, inbox: RecordingInbox) -> None:
    inbox.broken = True
    frame_id = await fake.push(ROBOT_TOPIC, robot_text_data("hi", msg_id="msgC"))
    assert (await fake.wait_ack(frame_id))["code"] == 500


async def test_system_ping_is_answered(fake: FakeDingTalk, client: OrderbotStreamClient) -> None:
    frame_id = await fake.ping()
    ack = await fake.wait_ack(frame_id)
    assert (ack["code"], ack["message"]) == (200, "OK")


async def test_disconnect_reconnects_and_keeps_working(
        fake: FakeDingTalk, client: OrderbotStreamClient, inbox: RecordingInbox) -> None:
    await fake.disconnect()
    await fake.wait_connected(connections=2)
    frame_id = await fake.push(ROBOT_TOPIC, robot_text_data("还在吗", msg_id="msgD"))
    await fake.wait_ack(frame_id)
    assert len(inbox.items) == 1
    assert (client.connections, len(fake.opens)) == (2, 2)


async def test_wrong_secret_keeps_retrying_without_blocking(fake: FakeDingTalk) -> None:
    settings = DingTalkSettings(client_id=fake.client_id, client_secret="wrong",
                                api_base=fake.base_url, reconnect_delay_s=0.05)
    stream = OrderbotStreamClient(settings, RecordingInbox())
    task = asyncio.create_task(stream.start())
    async with asyncio.timeout(5):
        await fake.wait_opens(2)  # the fake answers on this loop: the SDK's post is off it
        await stream.stop()
    assert task.done()
