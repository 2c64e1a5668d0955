"""A channel says the seller shipped: its waybills become parcels the tracking machinery and the
customer desk know, through the real service (signed 淘宝 push -> inbox -> worker -> ingest),
against the fake 快递100 / 快递鸟 servers.

Transcript: a 淘宝 trade shipped in two parcels (中通 for two lines, 顺丰 for the third) is
pushed; both numbers are registered, bound to the order, due for polling. The same push again
changes nothing (no second parcel, no "updated" event). The poller subscribes both to 快递100
pushes (once) and asks the providers about them; the order moves as far as the slower parcel
proves. A customer asking by the 顺丰
number (with the phone's last 4) gets its trace. A later push with a re-labelled third parcel
adds that parcel and keeps the others.
"""

from __future__ import annotations

import asyncio
import copy
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import text

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig, ShopConfig
from bot.tracking import TRACKING
from bot.tracking_config import TrackingConfig
from bot.workers import utcnow
from handlers.track_parcel import poll_due
from integrations.logistics.base import beijing_text
from integrations.logistics.settings import KdniaoSettings, Kuaidi100Settings
from storage.db import create_engine
from tests.conftest import fresh_engine
from tests.e2e.test_tracking import _serve
from tests.fakes.channels import taobao as fake_taobao
from tests.fakes.logistics import FakeKdniao, FakeKuaidi100

DATA = Path(__file__).resolve().parents[1] / "data" / "channels"
TRADE = json.loads((DATA / "taobao" / "fullinfo_shipped_two_parcels.json").read_text())
KEY = "taobao:2456789012345679101"
ZTO, SF = "78812345670001", "SF1400012345678"
APP_KEY, SECRET = "12345678", "qimen-secret"


def beijing(hours_ago: float) -> str:
    return beijing_text(utcnow() - timedelta(hours=hours_ago))


@asynccontextmanager
async def service(db_url: str) -> AsyncIterator[tuple[str, web.Application, FakeKuaidi100,
                                                      aiohttp.ClientSession]]:
    await (await fresh_engine(db_url)).dispose()
    k100, kdn = FakeKuaidi100(), FakeKdniao()
    k100_server, kdn_server = await _serve(k100.app()), await _serve(kdn.app())
    tracking = TrackingConfig(
        kuaidi100=Kuaidi100Settings(k100.customer, k100.key, k100.salt,
                                    str(k100_server.make_url(""))),
        kdniao=KdniaoSettings(kdn.ebusiness_id, kdn.app_key, str(kdn_server.make_url(""))),
        timeout_s=2.0, trusted_proxies=("127.0.0.1",), query_limit=1000,
        callback_base="https://orderbot.example.com")
    shops = (ShopConfig(channel="taobao", shop_id="tb", app_key=APP_KEY,
                        webhook_secret=SECRET),)
    config = Config(database=DatabaseConfig(url=db_url), inbox=InboxConfig(workers=1),
                    tracking=tracking, shops=shops)
    server = await _serve(build_app(config))
    try:
        async with aiohttp.ClientSession() as http:
            yield str(server.make_url("")).rstrip("/"), server.app, k100, http
    finally:
        await server.close()
        await k100_server.close()
        await kdn_server.close()


async def sql(db_url: str, query: str) -> list[Any]:
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(query))).all())
    finally:
        await engine.dispose()


async def wait_for(db_url: str, query: str, expected: list[Any], within_s: float = 15
                   ) -> list[Any]:
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        rows = await sql(db_url, query)
        if rows == expected or asyncio.get_running_loop().time() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def push(base: str, trade: dict[str, Any]) -> int:
    return await fake_taobao.push(f"{base}/webhooks/taobao/tb", trade, app_key=APP_KEY,
                                  secret=SECRET, now=datetime.now(UTC))


PARCELS = ("SELECT tracking_no, carrier, order_key, channel, source, state, "
           "order_id IS NOT NULL FROM parcels ORDER BY tracking_no")


async def test_shipped_push_registers_its_parcels_for_tracking_and_customers(db_url: str
                                                                             ) -> None:
    async with service(db_url) as (base, app, k100, http):
        assert await push(base, TRADE) == 200
        expected = [(ZTO, "ZTO", KEY, "taobao", "channel", "pending", True),
                    (SF, "SF", KEY, "taobao", "channel", "pending", True)]
        assert await wait_for(db_url, PARCELS, expected) == expected
        assert await sql(db_url, "SELECT status FROM orders") == [("label_printed",)]

        again = copy.deepcopy(TRADE)  # the platform pushes the trade again (other bytes:
        again["trade_fullinfo_get_response"]["trade"]["modified"] = "2026-01-07 16:05:00"
        assert await push(base, again) == 200  # not a redelivery, a second ingest)
        assert await wait_for(db_url, "SELECT count(*) FROM snapshots", [(2,)]) == [(2,)]
        await asyncio.sleep(0.3)
        assert await sql(db_url, "SELECT count(*) FROM parcels") == [(2,)]
        kinds = await sql(db_url, "SELECT kind FROM order_events ORDER BY seq")
        assert kinds == [("ingested",)]  # shipments are no content change

        # the poller finds both due at once and asks the providers
        k100.traces[ZTO] = ("0", [(beijing(20), "【杭州】中通快递 已揽收"),
                                  (beijing(5), "快件已到达【南京转运中心】")])
        k100.traces[SF] = ("1", [(beijing(3), "【杭州西湖】顺丰速运 已收取快件")])
        assert await poll_due(app[TRACKING], now=utcnow()) == 2
        assert sorted(s["number"] for s in k100.subscriptions) == [ZTO, SF]  # pushes from now on
        states = await sql(db_url, "SELECT tracking_no, state FROM parcels ORDER BY tracking_no")
        assert states == [(ZTO, "in_transit"), (SF, "picked_up")]
        assert await sql(db_url, "SELECT status FROM orders") == [("picked_up",)]  # slowest

        async with http.get(f"{base}/api/track", params={"q": SF, "last4": "4321"}) as response:
            assert response.status == 200
            reply = (await response.json())["reply"]
        assert "顺丰速运 已收取快件" in reply and "已揽收" in reply
        assert await poll_due(app[TRACKING], now=utcnow() + timedelta(days=1)) == 2
        assert len(k100.subscriptions) == 2  # subscribed once, on the first round

        relabelled = copy.deepcopy(TRADE)
        line = relabelled["trade_fullinfo_get_response"]["trade"]["orders"]["order"][2]
        line["invoice_no"] = "SF1400012349999"  # the third parcel went out under a new label
        assert await push(base, relabelled) == 200
        rows = await wait_for(db_url, "SELECT count(*) FROM parcels", [(3,)])
        assert rows == [(3,)]
        assert await sql(db_url, "SELECT tracking_no, order_key FROM parcels WHERE "
                                 "tracking_no = 'SF1400012349999'") == [
            ("SF1400012349999", KEY)]
