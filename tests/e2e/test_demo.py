"""The demo feeder in the real service: orders from several channels arrive and are stored.

Transcript: the app starts with the demo on (short interval); the feeder waits for the server,
then pushes signed orders to ``/webhooks/<channel>/<demo shop>``; the intake verifies them with
the per-process demo secrets, the workers store them; nothing is dead-lettered; some orders move
on (paid -> label_printed) and a cross-channel copy is flagged. Embedded stack (SQLite + SQL
inbox), wired the way ``bot/app.py`` will wire it.

With a high unhealthy share and the demo's A timeout cut to one second: the health checks on
the pushed orders put A, B and C cards in the web chat of the demo staff (agents, and 孙七 of
production for the C freeze), and an untouched A card escalates to the supervisor 李四.
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
async def demo_service(sqlite_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    engine = await fresh_engine(sqlite_url)
    demo = getattr(request, "param", None) or DemoConfig(
        enabled=True, interval_s=0.03, seed=20260108, unhealthy_share=0.2)
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


CARDS_BY_CLASS = ("SELECT count(DISTINCT a.klass) FROM cards c JOIN anomalies a "
                  "ON c.ref = CAST(a.id AS TEXT) WHERE c.kind = 'anomaly'")
C_CARD_TO_PRODUCTION = (
    "SELECT count(*) FROM outbox o JOIN cards c ON c.card_id = o.card_id JOIN anomalies a "
    "ON c.ref = CAST(a.id AS TEXT) WHERE a.klass = 'C' AND o.platform = 'webchat' "
    "AND o.conversation = 'sunqi'")
ESCALATED = (  # an A anomaly past its SLA: a second card, the supervisor's
    "SELECT count(*) FROM (SELECT c.ref FROM cards c JOIN anomalies a "
    "ON c.ref = CAST(a.id AS TEXT) WHERE a.klass = 'A' AND a.level >= 1 "
    "GROUP BY c.ref HAVING count(*) >= 2)")
FAST = DemoConfig(enabled=True, interval_s=0.03, seed=7, unhealthy_share=0.6,
                  escalate_after_s=1.0)


@pytest.mark.parametrize("demo_service", [FAST], indirect=True)
async def test_demo_shows_a_b_c_cards_and_an_escalation(demo_service: Any) -> None:
    engine = demo_service
    assert await wait_until(engine, CARDS_BY_CLASS, 3) == 3
    for code in ("ADDRESS_MISSING", "OUT_OF_STOCK_SUBSTITUTE", "CUSTOM_SPEC_CONFLICT"):
        sql = f"SELECT count(*) FROM anomalies WHERE code = '{code}'"
        assert await wait_until(engine, sql, 1) >= 1, code
    assert await wait_until(engine, C_CARD_TO_PRODUCTION, 1) >= 1
    assert await wait_until(engine, ESCALATED, 1) >= 1
    offered = "SELECT count(*) FROM anomalies WHERE code = 'OUT_OF_STOCK_SUBSTITUTE' " \
              "AND data LIKE '%SOFA-BEI-2%'"
    assert await scalar(engine, offered) >= 1  # the in-stock substitute is on the B card
    async with engine.connect() as conn:
        reasons = [r[0] for r in await conn.execute(text("SELECT reason FROM dead_letters"))]
    assert reasons == []  # held orders are never pushed on
