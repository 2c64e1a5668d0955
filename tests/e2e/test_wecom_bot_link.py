"""The WeCom smart robot's long connection against the fake server (tests/fakes/wecom_aibot.py):
subscribe and its refusal, heartbeat and a dead link, reconnect with backoff, the kick, acks,
and what reaches the inbox (the in-memory inbox twin: the link's only neighbour).

Transcript: the link subscribes and pings; a text and a click pushed by WeCom arrive on the
inbox as ``receive_text`` / ``click_card`` with the msgid as dedup key (a redelivery is a
duplicate); a callback missing its msgid is put on the inbox as ``wecom_bot_malformed`` for
the workers to dead-letter; a send is acked (or times out when WeCom stays silent); a wrong
secret is refused with errcode 40001 and retried with growing delays, the secret never logged;
unanswered pings close the link and it comes back; a disconnected_event stops it for good.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from bot.wecom import aibot_frames as frames
from bot.wecom.longconn import AckTimeoutError, LinkDownError, LongConnection
from bot.wecom.settings import WeComBotSettings
from core.chat import card_action_from_json, inbound_from_json
from core.inbox import Envelope
from storage.inbox.memory import MemoryInbox
from tests.e2e.chat_store import eventually
from tests.fakes.wecom_aibot import FakeAibot


def fast(fake: FakeAibot, **changes: object) -> WeComBotSettings:
    settings = WeComBotSettings(enabled=True, bot_id=fake.bot_id, secret=fake.secret,
                                ws_url=fake.url, heartbeat_s=0.1, reconnect_base_s=0.05,
                                reconnect_max_s=0.4, ack_timeout_s=0.5)
    return replace(settings, **changes)  # type: ignore[arg-type]


@asynccontextmanager
async def running(link: LongConnection) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(link.run())
    try:
        yield task
    finally:
        await link.stop()
        await asyncio.wait_for(task, 10)


async def taken(inbox: MemoryInbox, count: int) -> list[Envelope]:
    found: list[Envelope] = []
    while len(found) < count:
        batch = await inbox.take("test", count, block_ms=5000)
        assert batch, f"only {len(found)} of {count} envelopes arrived"
        found.extend(batch)
    return found


async def test_callbacks_reach_the_inbox_once_with_their_msgid() -> None:
    inbox = MemoryInbox()
    async with FakeAibot() as fake:
        link = LongConnection(fast(fake), inbox)
        async with running(link):
            await fake.wait_sessions(1)
            await eventually(lambda: link.ready)
            await fake.push_text("ZhangSan", "查单 1234", msgid="m-1")
            await fake.push_text("ZhangSan", "查单 1234", msgid="m-1")  # redelivered
            await fake.push_text("LiSi", "@订单助手 5678", msgid="m-2", chatid="wrkSFfCg")
            task = frames.task_id("od-1", 3, 17)
            click = await fake.push_click("ZhangSan", "act:v1:od-1:refresh", task, msgid="e-1")
            await fake.push("aibot_event_callback", {"msgtype": "event", "from": {"userid": "x"},
                                                     "event": {"eventtype": "enter_chat"}})
            await fake.push("aibot_msg_callback", {"msgtype": "text", "from": {"userid": "x"}})
            text, group, tap, bad = await taken(inbox, 4)
            await eventually(lambda: fake.pings >= 2)
    assert [e.kind for e in (text, group, tap, bad)] == \
        ["receive_text", "receive_text", "click_card", "wecom_bot_malformed"]
    assert (text.dedup_key, tap.dedup_key) == ("wecom_bot:msg:m-1", "wecom_bot:event:e-1")
    message = inbound_from_json(text.payload)
    assert (message.platform, message.sender_id, message.conversation_id, message.text) == \
        ("wecom_bot", "ZhangSan", "ZhangSan", "查单 1234")
    in_group = inbound_from_json(group.payload)
    assert (in_group.is_group, in_group.conversation_id) == (True, "wrkSFfCg")
    action = card_action_from_json(tap.payload)
    assert (action.card_id, action.card_version, action.action, action.actor_id) == \
        ("od-1", 3, "refresh", "ZhangSan")
    token = frames.parse_update_token(action.update_token)
    assert token is not None and token[1:] == (task, click)
    assert "msgid" in bad.payload["error"] and bad.payload["frame"]["cmd"] == \
        "aibot_msg_callback"


async def test_sends_wait_for_the_ack() -> None:
    async with FakeAibot() as fake:
        link = LongConnection(fast(fake), MemoryInbox())
        with pytest.raises(LinkDownError):
            await link.request(frames.SEND_MSG, {"chatid": "ZhangSan"})
        async with running(link):
            await fake.wait_sessions(1)
            await eventually(lambda: link.ready)
            body = {"chatid": "ZhangSan", "msgtype": "markdown", "markdown": {"content": "hi"}}
            ack = await link.request(frames.SEND_MSG, body)
            assert ack.ok and ack.req_id == fake.sends()[0].req_id
            assert fake.sends()[0].body == body
            fake.ack_sends = False
            with pytest.raises(AckTimeoutError):
                await link.request(frames.SEND_MSG, body)


async def test_wrong_secret_is_refused_and_retried_without_logging_it(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeAibot() as fake:
        link = LongConnection(fast(fake, secret="not-the-secret-4711"), MemoryInbox())
        async with running(link):
            await eventually(lambda: fake.refused >= 3)
            assert not link.ready and fake.sessions == 0
            assert "errcode 40001" in link.last_error
    assert "not-the-secret-4711" not in caplog.text
    assert "subscribe refused: errcode 40001" in caplog.text


async def test_unanswered_pings_and_a_server_close_reconnect() -> None:
    async with FakeAibot() as fake:
        link = LongConnection(fast(fake), MemoryInbox())
        ups: list[bool] = []
        link.on_ready = ups.append
        async with running(link):
            await fake.wait_sessions(1)
            fake.ack_pings = False  # a half-dead link: pings go out, nothing comes back
            await fake.wait_sessions(2)
            fake.ack_pings = True
            await fake.close_live()
            await fake.wait_sessions(3)
            await eventually(lambda: link.ready)
        assert fake.kicks == 0 and ups[:5] == [True, False, True, False, True]


async def test_disconnected_event_stops_the_link_for_good() -> None:
    async with FakeAibot() as fake:
        link = LongConnection(fast(fake), MemoryInbox())
        task = asyncio.create_task(link.run())
        await fake.wait_sessions(1)
        await fake.kick_live()
        await asyncio.wait_for(task, 5)  # run() returns by itself: no reconnect
        assert link.kicked and not link.ready
        await asyncio.sleep(0.5)  # several reconnect delays
        assert fake.sessions == 1
