"""One WeCom smart-robot connection per deployment: two service instances share Redis (inbox
and the connection lock) and the database; the fake server counts subscribed connections and
every time a new one kicks a live one (which would mean two of ours were connected at once).

Transcript: instance A starts and connects; B starts and stands by (no second connection, no
kick) while A answers 张三's message over the socket (B's outbox leaves robot rows alone);
A stops -> B takes over within the lock's TTL, without a kick, and answers the next message.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

import pytest

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.outbox_sender import SenderSettings
from tests.e2e.chat_store import ORDER, eventually, ingest, scalar
from tests.e2e.chat_support import chat_service
from tests.e2e.test_wecom_bot_service import bot_settings, cards_to
from tests.fakes.wecom_aibot import FakeAibot
from tests.redis_support import REDIS_URL, redis_for_test


@asynccontextmanager
async def instance(config: Config, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    async with chat_service(config, monkeypatch, settings=SenderSettings(poll_s=0.05)) as url:
        yield url


async def test_only_the_lock_holder_connects_and_a_standby_takes_over(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async with redis_for_test() as (_, prefix), FakeAibot() as fake:
        inbox = InboxConfig(backend="redis", redis_url=REDIS_URL, stream_prefix=prefix,
                            reclaim_idle_s=2.0)
        config = Config(database=DatabaseConfig(url=sqlite_url), inbox=inbox,
                        wecom_bot=bot_settings(fake))  # leader_ttl_s = 1.0
        await ingest(sqlite_url, ORDER)
        async with AsyncExitStack() as a:
            await a.enter_async_context(instance(config, monkeypatch))
            await fake.wait_sessions(1)
            async with instance(replace(config), monkeypatch):
                await asyncio.sleep(2.5)  # several lock attempts by B (every ttl/3)
                assert (fake.sessions, fake.kicks) == (1, 0)
                await fake.push_text("ZhangSan", f"查单 {ORDER.channel_order_id}")
                await eventually(lambda: cards_to(fake, "ZhangSan"))
                await a.aclose()  # A stops: its connection closes, its lock is released
                await fake.wait_sessions(2, within=5)
                assert fake.kicks == 0
                await fake.push_text("ZhangSan", f"查单 {ORDER.channel_order_id}")
                await eventually(lambda: len(cards_to(fake, "ZhangSan")) == 2)
        failed = await scalar(sqlite_url, "SELECT count(*) FROM outbox WHERE status = 'failed'")
        assert failed == 0
