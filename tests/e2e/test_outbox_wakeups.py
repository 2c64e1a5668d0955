"""``orderbot run``'s outbox sender on PostgreSQL is woken by rows another process commits (an
``orderbot worker`` announcing cards): with the sender's poll set to a minute, a row committed
through another engine still goes out within seconds (LISTEN/NOTIFY, ``storage.outbox_wakeups``,
wired by ``bot.chat``)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.outbox_sender import SenderSettings
from core.outbox import OutboxItem, text_message
from storage.db import session_factory
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.e2e.chat_support import chat_service


class Recorder:
    """A platform sender that keeps what it was given."""

    def __init__(self) -> None:
        self.delivered: asyncio.Queue[OutboxItem] = asyncio.Queue()

    async def deliver(self, item: OutboxItem, reference: str | None) -> str | None:
        self.delivered.put_nowait(item)
        return None


async def _until_listening(engine: AsyncEngine, within: float = 10) -> None:
    deadline = asyncio.get_running_loop().time() + within
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND query LIKE 'LISTEN%'")
    while True:
        async with engine.connect() as conn:
            if (await conn.execute(query)).scalar_one():
                return
        assert asyncio.get_running_loop().time() < deadline, "the service never LISTENed"
        await asyncio.sleep(0.05)


async def test_a_row_another_process_commits_goes_out_without_waiting_for_the_poll(
        pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = await fresh_engine(pg_url)
    recorder = Recorder()
    config = Config(database=DatabaseConfig(url=pg_url), inbox=InboxConfig(backend="sql"))
    try:
        async with chat_service(config, monkeypatch, senders={"wecom": recorder},
                                settings=SenderSettings(poll_s=60)):
            await _until_listening(engine)
            await asyncio.sleep(0.5)  # the rounds start-up and connecting caused are over
            async with SqlUnitOfWork(session_factory(engine)) as uow:  # "the worker"
                await uow.outbox.add([text_message("wecom", "ZhangSan", "新卡片")],
                                     at=datetime.now(UTC))
                await uow.commit()
            item = await asyncio.wait_for(recorder.delivered.get(), 5)
        assert item.message.payload["text"] == "新卡片"
    finally:
        await engine.dispose()
