"""WeCom callbacks end to end: a fake WeCom encrypts and signs, our routes verify and enqueue.

Transcript: WeCom verifies the URL (GET echostr) -> we answer the plaintext; WeCom posts an
encrypted text and a card click -> each lands on the inbox once, even when WeCom retries; a
forged signature and a replayed old timestamp are answered 401 and nothing is queued.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.model import card_action_from_json, format_payload, inbound_from_json
from bot.wecom.callback import CALLBACK_PATH, make_wecom_routes
from bot.wecom.messages import task_id_for
from bot.wecom.settings import WeComSettings
from tests.e2e.recording_inbox import RecordingInbox
from tests.fakes.wecom import (
    WeComSender,
    card_event_xml,
    post_callback,
    text_xml,
    verify_callback_url,
)

CORP = "ww-test-corp"
SETTINGS = WeComSettings(
    enabled=True, corp_id=CORP, agent_id=1000002, secret="s",
    token="QDG6eK", encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C")
WECOM = WeComSender(SETTINGS.token, SETTINGS.encoding_aes_key, CORP)


@pytest.fixture
def inbox() -> RecordingInbox:
    return RecordingInbox()


@pytest.fixture
async def url(inbox: RecordingInbox) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(make_wecom_routes(SETTINGS, inbox))
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}{CALLBACK_PATH}"
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def test_url_verification_answers_the_plaintext(url: str, session: aiohttp.ClientSession
                                                      ) -> None:
    status, text = await verify_callback_url(session, url, WECOM, "1616140317555161061")
    assert (status, text) == (200, "1616140317555161061")


async def test_text_message_is_queued_once(url: str, session: aiohttp.ClientSession,
                                           inbox: RecordingInbox) -> None:
    xml = text_xml(CORP, "zhangsan", "急单 1234", "7001")
    assert await post_callback(session, url, xml, WECOM) == (200, "success")
    assert await post_callback(session, url, xml, WECOM) == (200, "success")  # WeCom retry
    assert len(inbox.items) == 1
    envelope = inbox.items[0]
    assert (envelope.kind, envelope.dedup_key) == ("receive_text", "wecom:msg:7001")
    message = inbound_from_json(envelope.payload)
    assert (message.sender_id, message.text, message.is_group) == ("zhangsan", "急单 1234", False)


async def test_card_click_is_queued(url: str, session: aiohttp.ClientSession,
                                    inbox: RecordingInbox) -> None:
    payload = format_payload("A42", "merge")
    xml = card_event_xml(CORP, "lisi", payload, task_id_for("dup-O123", 2), "rc-77")
    assert await post_callback(session, url, xml, WECOM) == (200, "success")
    (envelope,) = inbox.items
    assert (envelope.kind, envelope.dedup_key) == ("click_card", "wecom:card:rc-77")
    action = card_action_from_json(envelope.payload)
    assert (action.card_id, action.card_version, action.action, action.actor_id) == \
        ("dup-O123", 2, "merge", "lisi")
    assert action.update_token == "rc-77"


async def test_forged_signature_is_401(url: str, session: aiohttp.ClientSession,
                                       inbox: RecordingInbox) -> None:
    xml = text_xml(CORP, "mallory", "退款 1234", "7002")
    status, _ = await post_callback(session, url, xml, WECOM, signature="0" * 40)
    assert status == 401
    forger = WeComSender("wrong-token", SETTINGS.encoding_aes_key, CORP)
    status, _ = await post_callback(session, url, xml, forger)
    assert status == 401
    status, _ = await verify_callback_url(session, url, forger, "123")
    assert status == 401
    assert inbox.items == []


async def test_replayed_old_timestamp_is_401(url: str, session: aiohttp.ClientSession,
                                             inbox: RecordingInbox) -> None:
    xml = text_xml(CORP, "zhangsan", "查单 1", "7003")
    status, _ = await post_callback(session, url, xml, WECOM, timestamp=int(time.time()) - 3600)
    assert status == 401
    assert inbox.items == []


async def test_other_corp_is_403(url: str, session: aiohttp.ClientSession,
                                 inbox: RecordingInbox) -> None:
    other = WeComSender(SETTINGS.token, SETTINGS.encoding_aes_key, "ww-other-corp")
    status, _ = await post_callback(session, url, text_xml("x", "u", "hi", "7004"), other)
    assert status == 403
    assert inbox.items == []


async def test_malformed_requests_are_400(url: str, session: aiohttp.ClientSession) -> None:
    async with session.post(url, data=b"<xml/>") as response:
        assert response.status == 400
    async with session.get(url) as response:
        assert response.status == 400


async def test_ignored_types_are_acknowledged(url: str, session: aiohttp.ClientSession,
                                              inbox: RecordingInbox) -> None:
    xml = (f"<xml><ToUserName>{CORP}</ToUserName><FromUserName>u</FromUserName>"
           "<CreateTime>1</CreateTime><MsgType>event</MsgType><Event>enter_agent</Event></xml>")
    assert await post_callback(session, url, xml, WECOM) == (200, "success")
    assert inbox.items == []


async def test_inbox_down_is_503_so_wecom_retries(url: str, session: aiohttp.ClientSession,
                                                  inbox: RecordingInbox) -> None:
    inbox.broken = True
    status, _ = await post_callback(session, url, text_xml(CORP, "u", "hi", "7005"), WECOM)
    assert status == 503
