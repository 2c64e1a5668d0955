"""The demo feeder in the real service: orders from several channels arrive and are stored.

Transcript: the app starts with the demo on (short interval); the feeder waits for the server,
then pushes signed orders to ``/webhooks/<channel>/<demo shop>``; the intake verifies them with
the per-process demo secrets, the workers store them; nothing is dead-lettered; some orders move
on (paid -> label_printed) and a cross-channel copy is flagged. Embedded stack (SQLite + SQL
inbox), wired the way ``bot/app.py`` will wire it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig, ServerConfig
from bot.demo import DemoConfig
from tests.conftest import fresh_engine
from tests.e2e.service import free_port


@pytest.fixture
async def demo_service(sqlite_url: str) -> AsyncIterator[Any]:
    engine = await fresh_engine(sqlite_url)
    demo = DemoConfig(enabled=True, interval_s=0.03, seed=20260108, unhealthy_share=0.2)
    port = free_port()
    config = Config(server=ServerConfig(port=port), database=DatabaseConfig(url=sqlite_url),
                    inbox=InboxConfig(backend="sql", poll_ms=20), demo=demo)
    app = build_app(config)  # adds the demo shops and the feeder, as `make run` does
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        yield engine
    finally:
        await server.close()
        await engine.dispose()


async def scalar(engine: Any, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one())


async def wait_until(engine: Any, sql: str, at_least: int, within_s: float = 15) -> int:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        value = await scalar(engine, sql)
        if value >= at_least or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_demo_orders_from_several_channels_are_stored(demo_service: Any) -> None:
    engine = demo_service
    channels = "SELECT count(DISTINCT channel) FROM orders"
    assert await wait_until(engine, channels, 5) == 5
    assert await wait_until(engine, "SELECT count(*) FROM orders", 30) >= 30
    moved = "SELECT count(*) FROM order_events WHERE kind = 'state_changed'"
    assert await wait_until(engine, moved, 1) >= 1
    async with engine.connect() as conn:
        reasons = [r[0] for r in await conn.execute(text("SELECT reason FROM dead_letters"))]
    assert reasons == []
    duplicates = "SELECT count(*) FROM anomalies WHERE code = 'SUSPECTED_DUPLICATE'"
    assert await wait_until(engine, duplicates, 1) >= 1  # the demo's cross-channel copies
    counters = "SELECT coalesce(sum(dead_lettered), 0) FROM channel_counters"
    assert await scalar(engine, counters) == 0
