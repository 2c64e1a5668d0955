"""Webhook -> inbox -> worker -> stored, through the real app (real HTTP on 127.0.0.1).

Transcript: a platform pushes signed orders; the bot answers 2xx once they are queued; workers
store each order once; forgeries get 401; a verified but malformed push ends in dead letters.
Run on the embedded stack (SQLite + SQL inbox) and the production one (PostgreSQL + Redis).
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig, ShopConfig
from tests.conftest import fresh_engine
from tests.fakes.channels import taobao as fake_taobao
from tests.fakes.channels import youzan as fake_youzan
from tests.redis_support import forget_keys

DATA = Path(__file__).resolve().parents[1] / "data" / "channels"
YOUZAN_SECRET = "cid:secret"


def youzan_order(tid: str) -> dict[str, Any]:
    push = json.loads((DATA / "youzan" / "push_presale_deposit_paid.json").read_text())
    order = json.loads(unquote_plus(push["msg"]))["full_order_info"]
    order = copy.deepcopy(order)
    order["order_info"]["tid"] = tid
    return dict(order)


def taobao_trade() -> dict[str, Any]:
    doc = json.loads((DATA / "taobao" / "increment_single_line.json").read_text())
    return dict(doc)


@pytest.fixture(params=["embedded", "production"])
async def service(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Any]]:
    """Embedded: SQLite + SQL inbox. Production: PostgreSQL + Redis Streams."""
    production = request.param == "production"
    db_url = str(request.getfixturevalue("pg_url" if production else "sqlite_url"))
    engine = await fresh_engine(db_url)
    inbox = InboxConfig(backend="redis" if production else "sql",
                        stream_prefix=f"test-{uuid.uuid4().hex[:8]}", reclaim_idle_s=2.0)
    shops = (ShopConfig(channel="youzan", shop_id="yz", webhook_secret=YOUZAN_SECRET),
             ShopConfig(channel="taobao", shop_id="tb", app_key="12345678",
                        webhook_secret="qimen-secret"))
    config = Config(database=DatabaseConfig(url=db_url), inbox=inbox, shops=shops)
    server = TestServer(build_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/"), engine
    finally:
        await server.close()
        await engine.dispose()
        await forget_keys(f"{inbox.stream_prefix}:*")


async def wait_for(engine: Any, sql: str, expected: int, within_s: float = 15) -> int:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        async with engine.connect() as conn:
            value = int((await conn.execute(text(sql))).scalar_one())
        if value >= expected or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_signed_pushes_are_stored_once(service: tuple[str, Any]) -> None:
    base, engine = service
    for tid in ("E1001", "E1002", "E1001"):  # the platform retries E1001
        status = await fake_youzan.push(f"{base}/webhooks/youzan", youzan_order(tid),
                                        client_id="cid", client_secret="secret")
        assert status == 200
    status = await fake_taobao.push(f"{base}/webhooks/taobao/tb", taobao_trade(),
                                    app_key="12345678", secret="qimen-secret",
                                    now=datetime.now(UTC))
    assert status == 200
    assert await wait_for(engine, "SELECT count(*) FROM orders", 3) == 3
    await asyncio.sleep(0.3)
    async with engine.connect() as conn:
        keys = sorted(r[0] for r in await conn.execute(
            text("SELECT channel || ':' || channel_order_id FROM orders")))
        events = (await conn.execute(text(
            "SELECT kind, data FROM order_events ORDER BY id"))).all()
        snapshots = int((await conn.execute(text("SELECT count(*) FROM snapshots"))).scalar_one())
    assert keys == ["taobao:3849562017384920183", "youzan:E1001", "youzan:E1002"]
    assert all(json.loads(d)["snapshot"] if isinstance(d, str) else d["snapshot"]
               for kind, d in events if kind == "ingested")
    assert snapshots == 3


async def test_forged_push_is_refused_and_not_queued(service: tuple[str, Any]) -> None:
    base, engine = service
    status = await fake_youzan.push(f"{base}/webhooks/youzan", youzan_order("E2001"),
                                    client_id="cid", client_secret="not-the-secret")
    assert status == 401
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/webhooks/ebay", data=b"{}") as response:
            assert response.status == 404
    await asyncio.sleep(0.5)
    assert await wait_for(engine, "SELECT count(*) FROM orders", 1, within_s=0.5) == 0


async def test_verified_but_malformed_push_is_dead_lettered(service: tuple[str, Any]) -> None:
    base, engine = service
    broken = youzan_order("E3001")
    broken["order_info"]["status"] = "TELEPORTED"
    assert await fake_youzan.push(f"{base}/webhooks/youzan", broken, client_id="cid",
                                  client_secret="secret") == 200
    assert await wait_for(engine, "SELECT count(*) FROM dead_letters", 1) == 1
    async with engine.connect() as conn:
        source, reason, meta = (await conn.execute(
            text("SELECT source, reason, meta FROM dead_letters"))).one()
        counters = (await conn.execute(text(
            "SELECT received, dead_lettered FROM channel_counters WHERE channel = 'youzan'"
        ))).one()
    assert source == "webhook:youzan" and "TELEPORTED" in reason
    assert (json.loads(meta) if isinstance(meta, str) else meta)["shop"] == "yz"
    assert tuple(counters) == (1, 1)
