"""Outage: the fake WeCom answers 503 for a while; afterwards every message arrives, in order
per conversation, and the outbox records each delivery with its latency.

The issue's figure, 30 s, is the default (about 32 s of a ~4 min `make test`);
``ORDERBOT_OUTAGE_S=3`` shortens it for quick local runs.
"""

from __future__ import annotations

import asyncio
import itertools
import os

import pytest
from sqlalchemy import text

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.outbox_sender import SenderSettings
from bot.wecom.settings import WeComSettings
from core.outbox import Backoff, text_message
from storage.db import create_engine, session_factory
from storage.uow import SqlUnitOfWork
from tests.e2e.chat_support import chat_service
from tests.factories import T0
from tests.fakes.wecom import FakeWeCom

OUTAGE_S = float(os.environ.get("ORDERBOT_OUTAGE_S", "30"))
USERS = ("ZhangSan", "LiSi")
PER_USER = 4


async def test_nothing_is_lost_in_a_wecom_outage(sqlite_url: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeWeCom() as fake:
        wecom = WeComSettings(enabled=True, corp_id=fake.corp_id, agent_id=1000002,
                              secret=fake.secret, token="t", encoding_aes_key="a" * 43,
                              api_base=fake.base_url)
        config = Config(database=DatabaseConfig(url=sqlite_url),
                        inbox=InboxConfig(backend="sql"), wecom=wecom)
        settings = SenderSettings(poll_s=0.1, backoff=Backoff(base_s=0.2, cap_s=1.0))
        async with chat_service(config, monkeypatch, settings=settings):
            fake.go_down(OUTAGE_S)
            await _queue(sqlite_url)
            sent = await _wait_sent(sqlite_url, len(USERS) * PER_USER, OUTAGE_S + 15)
        assert sent == len(USERS) * PER_USER
        for user in USERS:
            attempts = [r.body["text"]["content"] for r in fake.calls("/cgi-bin/message/send")
                        if r.body["touser"] == user]
            retried_heads = [text for text, _ in itertools.groupby(attempts)]
            assert retried_heads == [f"{user} #{n}" for n in range(PER_USER)]
            assert len(attempts) > PER_USER  # the outage was real: heads were retried
    assert await _latencies_recorded(sqlite_url) == len(USERS) * PER_USER


async def _queue(url: str) -> None:
    engine = create_engine(url)
    try:
        async with SqlUnitOfWork(session_factory(engine)) as uow:
            messages = [text_message("wecom", user, f"{user} #{n}")
                        for n in range(PER_USER) for user in USERS]
            await uow.outbox.add(messages, at=T0.now(T0.tzinfo))
            await uow.commit()
    finally:
        await engine.dispose()


async def _count(url: str, sql: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(text(sql))).scalar_one())
    finally:
        await engine.dispose()


async def _wait_sent(url: str, expected: int, within: float) -> int:
    deadline = asyncio.get_running_loop().time() + within
    while True:
        sent = await _count(url, "SELECT count(*) FROM outbox WHERE status = 'sent'")
        if sent >= expected or asyncio.get_running_loop().time() > deadline:
            return sent
        await asyncio.sleep(0.2)


async def _latencies_recorded(url: str) -> int:
    return await _count(url, f"SELECT count(*) FROM outbox WHERE latency_ms >= "
                             f"{int(OUTAGE_S * 1000) - 500}")
