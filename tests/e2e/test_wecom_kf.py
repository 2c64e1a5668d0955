"""微信客服 through the real service: ``build_app(config)`` with ``[wecom] kf_enabled`` and the
fake WeCom's kf/sync_msg (cursor paging, 2 messages a page) and kf/send_msg; every callback is
really encrypted and signed (tests/fakes/wecom.py, independent of bot/wecom/crypto.py).

Transcript: WeChat customer Alice asks for her order by number -> asked for the phone's last
4; gives them -> the customer desk's answer, phone and address masked, and she is bound (the
next question needs no proof). Mallory asks for the same order -> the same neutral replies
and nothing personal. A servicer's own message and a 2-hour-old question are not answered.
WeCom repeats a callback -> nobody is answered twice; a forged callback (bad signature, wrong
Token) is refused 401 and reads nothing. After a restart the service continues from the
stored cursor; with the cursor lost it reads the whole log again and still answers nobody
twice (the inbox's dedup key is the kf msgid).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from bot.config import ConfigError, load_config
from core.customer_replies import NEED_PROOF, NO_MATCH
from tests.conftest import fresh_engine
from tests.e2e.chat_store import ORDER, eventually, ingest, scalar
from tests.e2e.wecom_service import AES_KEY, wecom_chat, wecom_settings
from tests.fakes.wecom import FakeWeCom, WeComSender, kf_event_xml, post_callback

KFID = "wkShop01"
SYNC = "/cgi-bin/kf/sync_msg"
NUMBER = ORDER.channel_order_id  # receiver 13800000007, 文三路 8 号


@dataclass
class Kf:
    fake: FakeWeCom
    wecom: WeComSender
    url: str
    http: aiohttp.ClientSession

    async def says(self, customer: str, text: str, **kwargs: Any) -> tuple[int, str]:
        """The customer writes; WeCom posts kf_msg_or_event with the sync Token."""
        token = self.fake.kf_customer_says(KFID, customer, text, **kwargs)
        return await self.callback(token)

    async def callback(self, token: str, **kwargs: Any) -> tuple[int, str]:
        xml = kf_event_xml(self.fake.corp_id, KFID, token)
        return await post_callback(self.http, self.url, xml, self.wecom, **kwargs)

    async def replies(self, customer: str, count: int) -> list[str]:
        return await replies(self.fake, customer, count)


async def replies(fake: FakeWeCom, customer: str, count: int) -> list[str]:
    """The kf/send_msg texts to ``customer`` once there are ``count`` of them."""
    return await eventually(lambda: len(fake.kf_replies(customer)) >= count
                            and fake.kf_replies(customer))


@asynccontextmanager
async def kf_service(fake: FakeWeCom, db: str) -> AsyncIterator[Kf]:
    settings = wecom_settings(fake, kf_enabled=True, kf_open_kfids=(KFID,))
    async with wecom_chat(fake, db, settings=settings) as chat:
        await eventually(lambda: fake.calls(SYNC))  # the start-up read of the account
        yield Kf(fake, chat.wecom, chat.url, chat.http)


async def bindings(db: str) -> int:
    return await scalar(db, "SELECT count(*) FROM customer_bindings WHERE platform = "
                            "'wecom_kf' AND sender_id = 'wmAlice'")


async def test_kf_customer_answered_like_the_desk_strangers_learn_nothing(
        sqlite_url: str) -> None:
    await ingest(sqlite_url, ORDER)
    async with FakeWeCom() as fake, kf_service(fake, sqlite_url) as kf:
        assert await kf.says("wmAlice", f"我的订单到哪了 {NUMBER}") == (200, "success")
        assert await kf.replies("wmAlice", 1) == [NEED_PROOF]

        assert await kf.says("wmAlice", f"{NUMBER} 尾号0007") == (200, "success")
        answer = (await kf.replies("wmAlice", 2))[1]
        assert f"订单 {NUMBER}：" in answer
        assert "138****0007" in answer and ORDER.receiver.phone not in answer
        assert "文三" in answer and "文三路 8 号" not in answer
        assert await bindings(sqlite_url) == 1  # bound to the phone it proved
        assert await kf.says("wmAlice", f"查单 {NUMBER}") == (200, "success")
        assert "138****0007" in (await kf.replies("wmAlice", 3))[2]  # no proof asked again

        # Mallory knows the number but not the phone: the neutral words, nothing personal
        await kf.says("wmMallory", f"查单 {NUMBER}")
        assert await kf.replies("wmMallory", 1) == [NEED_PROOF]
        await kf.says("wmMallory", f"查单 {NUMBER} 尾号1234")
        told = await kf.replies("wmMallory", 2)
        assert told == [NEED_PROOF, NO_MATCH]
        assert not any("138" in t or "文三" in t or "张" in t for t in told)

        # a servicer's own message and a question from 2 hours ago are read past
        fake.kf_customer_says(KFID, "wmAlice", "人工客服：您好", origin=5)
        fake.kf_customer_says(KFID, "wmOld", f"查单 {NUMBER} 尾号0007",
                              send_time=int(time.time()) - 7200)
        # WeCom repeats a callback: the messages are read once, answered once
        token = fake.kf_customer_says(KFID, "wmBob", "你好")
        for _ in range(2):
            assert await kf.callback(token) == (200, "success")
        assert len(await kf.replies("wmBob", 1)) == 1
        assert any(c.body.get("token") == token for c in fake.calls(SYNC))  # its Token used
        assert fake.kf_pages_with_more >= 1  # 3 new messages, 2 a page: paged by has_more

        # forged callbacks (bad signature, a guessed Token): refused, nothing read
        assert (await kf.callback("ENCforged", signature="0" * 40))[0] == 401
        impostor = WeComSender("guessed-token", AES_KEY, fake.corp_id)
        xml = kf_event_xml(fake.corp_id, KFID, "ENCforged")
        assert (await post_callback(kf.http, kf.url, xml, impostor))[0] == 401

        await kf.says("wmCarol", "你好")  # a barrier: everything before it is done
        await kf.replies("wmCarol", 1)
        assert [c for c in fake.calls(SYNC) if c.body.get("token") == "ENCforged"] == []
        assert len(fake.kf_replies("wmAlice")) == 3 and len(fake.kf_replies("wmBob")) == 1
        assert fake.kf_replies("wmOld") == []
        assert len(fake.kf_replies("wmMallory")) == 2


async def test_restart_continues_from_the_stored_cursor_and_answers_nobody_twice(
        db_url: str) -> None:
    """On SQLite and PostgreSQL (the cursor upsert, the inbox's dedup on both)."""
    await (await fresh_engine(db_url)).dispose()  # the shared PostgreSQL database, emptied
    await ingest(db_url, ORDER)
    async with FakeWeCom() as fake:
        fake.kf_page_size = 1
        async with kf_service(fake, db_url) as kf:
            await kf.says("wmAlice", f"查单 {NUMBER} 尾号0007")
            await kf.says("wmBob", "你好")
            assert len(await kf.replies("wmBob", 1)) == 1
            assert len(await kf.replies("wmAlice", 1)) == 1
        stored = await scalar(db_url, "SELECT count(*) FROM kf_cursors WHERE open_kfid "
                                          "= :k AND cursor <> ''", k=KFID)
        assert stored == 1
        # a question while the service was down: read at start, from the stored cursor
        fake.kf_customer_says(KFID, "wmCarol", "你好")
        before = len(fake.calls(SYNC))
        async with kf_service(fake, db_url):
            await replies(fake, "wmCarol", 1)
        restart_reads = [c.body for c in fake.calls(SYNC)][before:]
        assert restart_reads and all(body.get("cursor") for body in restart_reads)
        # the cursor lost: 3 days are read again, and the inbox's dedup answers nobody twice
        await _forget_cursor(db_url)
        before = len(fake.calls(SYNC))
        fake.kf_customer_says(KFID, "wmDave", "你好")
        async with kf_service(fake, db_url):
            await replies(fake, "wmDave", 1)
        assert not fake.calls(SYNC)[before].body.get("cursor")  # read from the start
    assert [len(fake.kf_replies(c)) for c in ("wmAlice", "wmBob", "wmCarol", "wmDave")] == \
        [1, 1, 1, 1]


async def _forget_cursor(db: str) -> None:
    from sqlalchemy import text

    from storage.db import create_engine

    engine = create_engine(db)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM kf_cursors"))
    finally:
        await engine.dispose()



async def test_throttling_expired_token_and_foreign_accounts(
        sqlite_url: str) -> None:
    async with FakeWeCom() as fake, kf_service(fake, sqlite_url) as kf:
        fake.expire_tokens()  # 42001: a new access token, the call once more
        fake.fail_next(SYNC, errcode=45009)  # throttled: backoff, then read
        await kf.says("wmAlice", "你好")
        assert len(await kf.replies("wmAlice", 1)) == 1
        assert fake.tokens_issued == 2
        # an account not in kf_open_kfids: acknowledged, never read
        xml = kf_event_xml(fake.corp_id, "wkOther", fake.kf_customer_says("wkOther", "wmX", "hi"))
        assert await post_callback(kf.http, kf.url, xml, kf.wecom) == (200, "success")
        await kf.says("wmBob", "你好")  # a barrier
        await kf.replies("wmBob", 1)
        assert [c for c in fake.calls(SYNC) if c.body["open_kfid"] == "wkOther"] == []
        assert fake.kf_replies("wmX") == []


def test_kf_config_keys_env_override_and_checks() -> None:
    wecom = {"ORDERBOT_WECOM__ENABLED": "true", "ORDERBOT_WECOM__CORP_ID": "ww1",
             "ORDERBOT_WECOM__SECRET": "s", "ORDERBOT_WECOM__TOKEN": "t",
             "ORDERBOT_WECOM__ENCODING_AES_KEY": AES_KEY}
    config = load_config(None, wecom | {"ORDERBOT_WECOM__KF_ENABLED": "true",
                                        "ORDERBOT_WECOM__KF_OPEN_KFIDS": "wkA, wkB"})
    assert config.wecom.kf_enabled and config.wecom.kf_open_kfids == ("wkA", "wkB")
    with pytest.raises(ConfigError, match="kf_open_kfids"):
        load_config(None, wecom | {"ORDERBOT_WECOM__KF_ENABLED": "true"})
    with pytest.raises(ConfigError, match="kf_enabled"):
        load_config(None, {"ORDERBOT_WECOM__KF_ENABLED": "true",
                           "ORDERBOT_WECOM__KF_OPEN_KFIDS": "wkA"})
