"""Polling -> inbox -> worker -> stored, through the real app against local fake platforms.

Transcript: 淘宝, 京东 and 有赞 fakes serve orders by modification time; the app's poll job for
each shop asks for its window, queues every order, and the workers store each once. Polling
again (the windows overlap) stores nothing new. A platform answering 503 leaves the cursor
where it was, and the next run asks for the same start, so the orders changed meanwhile are
not lost. Two runs for one shop at once (one app, or two apps sharing Redis) poll once.
Run on the embedded stack (SQLite + SQL inbox) and the production one (PostgreSQL + Redis).
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig, ShopConfig
from bot.polling import POLLERS, PollResult, ShopPoller
from core.clock import SHANGHAI
from tests.conftest import fresh_engine
from tests.fakes.channels import douyin as fake_douyin
from tests.fakes.channels import pdd as fake_pdd
from tests.fakes.channels import taobao as fake_taobao
from tests.fakes.channels.jd import FakeJos
from tests.fakes.channels.wechat_shop import FakeWechatShop
from tests.fakes.channels.youzan import FakeYouzan
from tests.redis_support import forget_keys

DATA = Path(__file__).resolve().parents[1] / "data" / "channels"
TAOBAO_TID = 3849562017384920000  # > 2**53: must survive polling digit for digit
YOUZAN_KDT = "13027865"
COUNTS = {"taobao": 120, "jd": 230, "youzan": 130}  # 3, 3 and 2 pages


def beijing(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def _sample(channel: str, name: str) -> Any:
    return json.loads((DATA / channel / name).read_text())


def taobao_trade(n: int, modified: datetime) -> dict[str, Any]:
    doc = _sample("taobao", "increment_single_line.json")
    trade = copy.deepcopy(doc["trades_sold_increment_get_response"]["trades"]["trade"][0])
    trade.update(tid=TAOBAO_TID + n, tid_str=str(TAOBAO_TID + n), modified=beijing(modified))
    return dict(trade)


def jd_order(n: int, modified: datetime) -> dict[str, Any]:
    doc = _sample("jd", "pop_order_search_single_line_and_locked.json")
    result = doc["jingdong_pop_order_search_responce"]["searchorderinfo_result"]
    order = copy.deepcopy(result["orderInfoList"][0])
    order.update(orderId=str(398765432100 + n), modified=beijing(modified))
    return dict(order)


def youzan_order(n: int, modified: datetime) -> dict[str, Any]:
    doc = _sample("youzan", "trades_sold_get_single_line_and_refunding.json")
    order = copy.deepcopy(doc["data"]["full_order_info_list"][0]["full_order_info"])
    order["order_info"].update(tid=f"E2026POLL{n:06d}", update_time=beijing(modified))
    return dict(order)


MAKERS: dict[str, Callable[[int, datetime], dict[str, Any]]] = {
    "taobao": taobao_trade, "jd": jd_order, "youzan": youzan_order}


def order_key(channel: str, order: dict[str, Any]) -> str:
    ident = {"taobao": lambda: str(order["tid"]), "jd": lambda: order["orderId"],
             "youzan": lambda: order["order_info"]["tid"]}[channel]()
    return f"{channel}:{ident}"


@dataclass
class Fault:
    """Put in front of a fake platform: answer ``status`` (503) or be slow, on demand."""

    status: int | None = None
    delay_s: float = 0.0
    requests: int = 0

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                         ) -> web.StreamResponse:
        self.requests += 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.status is not None:
            return web.Response(status=self.status, text="Service Unavailable")
        return await handler(request)


@dataclass
class Platforms:
    orders: dict[str, list[dict[str, Any]]]  # the fakes serve these very lists
    faults: dict[str, Fault]
    bases: dict[str, str] = field(default_factory=dict)

    def add(self, channel: str, count: int, modified: datetime) -> list[str]:
        """The platform gets ``count`` more orders changed at ``modified``; their keys."""
        first = sum(len(v) for v in self.orders.values())
        made = [MAKERS[channel](first + i, modified) for i in range(count)]
        self.orders[channel].extend(made)
        return [order_key(channel, o) for o in made]

    def keys(self) -> set[str]:
        return {order_key(c, o) for c, orders in self.orders.items() for o in orders}

    def shops(self) -> tuple[ShopConfig, ...]:
        return (
            ShopConfig(channel="taobao", shop_id="tb", app_key="12345678", app_secret="tsecret",
                       access_token="tb-session", api_base=f"{self.bases['taobao']}/router/rest",
                       poll=True, poll_interval_s=3600),
            ShopConfig(channel="jd", shop_id="jd1", app_key="key", app_secret="secret",
                       access_token="token", api_base=self.bases["jd"], poll=True,
                       poll_interval_s=3600),
            ShopConfig(channel="youzan", shop_id=YOUZAN_KDT, app_key="cid", app_secret="secret",
                       api_base=self.bases["youzan"], poll=True, poll_interval_s=3600),
        )


@pytest.fixture
async def platforms() -> AsyncIterator[Platforms]:
    orders: dict[str, list[dict[str, Any]]] = {c: [] for c in COUNTS}
    jd, youzan = FakeJos(orders["jd"]), FakeYouzan(orders["youzan"], kdt_id=YOUZAN_KDT)
    apps = {"taobao": fake_taobao.make_app("12345678", "tsecret", []),
            "jd": jd.app, "youzan": youzan.app}
    apps["taobao"][fake_taobao.STATE]["trades"] = orders["taobao"]
    platforms = Platforms(orders, {c: Fault() for c in apps})
    servers = []
    for channel, app in apps.items():
        app.middlewares.append(platforms.faults[channel].middleware)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        platforms.bases[channel] = str(server.make_url("")).rstrip("/")
    yield platforms
    for server in servers:
        await server.close()


@dataclass
class Stack:
    config: Config
    engine: AsyncEngine
    production: bool
    servers: list[TestServer] = field(default_factory=list)

    async def start_app(self) -> dict[str, ShopPoller]:
        """One more running app on this stack; its scheduled poll jobs are paused so that
        only the test decides when a shop is polled."""
        app = build_app(self.config)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        self.servers.append(server)
        pollers = app[POLLERS]
        for poller in pollers.values():
            assert poller.job is not None
            poller.job.pause()
        return pollers


@pytest.fixture(params=["embedded", "production"])
async def stack(request: pytest.FixtureRequest, platforms: Platforms) -> AsyncIterator[Stack]:
    """Embedded: SQLite + SQL inbox. Production: PostgreSQL + Redis Streams + Redis locks."""
    production = request.param == "production"
    db_url = str(request.getfixturevalue("pg_url" if production else "sqlite_url"))
    engine = await fresh_engine(db_url)
    inbox = InboxConfig(backend="redis" if production else "sql",
                        stream_prefix=f"test-{uuid.uuid4().hex[:8]}", reclaim_idle_s=2.0)
    config = Config(database=DatabaseConfig(url=db_url), inbox=inbox, shops=platforms.shops())
    stack = Stack(config, engine, production)
    try:
        yield stack
    finally:
        for server in stack.servers:
            await server.close()
        await engine.dispose()
        await forget_keys(f"{inbox.stream_prefix}:*")


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(text(sql), params)).scalar_one()


async def stored_keys(engine: AsyncEngine, expected: int, within_s: float = 30) -> list[str]:
    """Every stored order as ``channel:id`` once ``expected`` are there (or time is up)."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        if (await scalar(engine, "SELECT count(*) FROM orders") >= expected
                or asyncio.get_running_loop().time() > deadline):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # anything extra would have landed by now
    async with engine.connect() as conn:
        rows = await conn.execute(text("SELECT channel, channel_order_id FROM orders"))
        return [f"{channel}:{ident}" for channel, ident in rows]


async def cursor(engine: AsyncEngine, channel: str, shop_id: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT last_end, last_error FROM poll_cursors WHERE channel = :c AND shop_id = :s"),
            {"c": channel, "s": shop_id})).one()
    last_end = row[0] if isinstance(row[0], datetime) else datetime.fromisoformat(row[0])
    return (last_end.replace(tzinfo=last_end.tzinfo or UTC), row[1])


async def run_all(pollers: dict[str, ShopPoller], now: datetime | None = None
                  ) -> dict[str, PollResult]:
    results = await asyncio.gather(*(p.run(now) for p in pollers.values()))
    return {p.shop.channel: r for p, r in zip(pollers.values(), results, strict=True)}


async def test_every_served_order_is_stored_once_and_polling_again_adds_nothing(
        stack: Stack, platforms: Platforms) -> None:
    now = datetime.now(UTC)
    for channel, count in COUNTS.items():  # changed a minute ago: inside the next overlap
        platforms.add(channel, count, now - timedelta(minutes=1))
    pollers = await stack.start_app()
    first = await run_all(pollers)  # the jobs' own clock: the real one
    assert {c: (r.orders, r.error) for c, r in first.items()} == {
        c: (n, None) for c, n in COUNTS.items()}
    keys = await stored_keys(stack.engine, sum(COUNTS.values()))
    assert sorted(keys) == sorted(platforms.keys())  # each once, ids digit for digit
    assert f"taobao:{TAOBAO_TID}" in keys
    events = await scalar(stack.engine, "SELECT count(*) FROM order_events")

    again = await run_all(pollers)  # its overlap covers every order again
    assert {c: (r.orders, r.queued) for c, r in again.items()} == {
        c: (n, 0) for c, n in COUNTS.items()}
    await asyncio.sleep(0.5)
    assert await scalar(stack.engine, "SELECT count(*) FROM orders") == len(keys)
    assert await scalar(stack.engine, "SELECT count(*) FROM order_events") == events
    assert await scalar(stack.engine, "SELECT count(*) FROM dead_letters") == 0


async def test_a_503_keeps_the_cursor_and_the_next_run_fills_the_gap(
        stack: Stack, platforms: Platforms) -> None:
    t1 = datetime.now(UTC).replace(microsecond=0)
    before = {c: platforms.add(c, 3, t1 - timedelta(hours=1)) for c in COUNTS}
    pollers = await stack.start_app()
    await run_all(pollers, t1)
    assert len(await stored_keys(stack.engine, 9)) == 9

    during = {c: platforms.add(c, 4, t1 + timedelta(minutes=1)) for c in COUNTS}
    for fault in platforms.faults.values():
        fault.status = 503
    failed = await run_all(pollers, t1 + timedelta(minutes=5))
    for channel, result in failed.items():
        assert result.error is not None and "503" in result.error, channel
    for poller in pollers.values():
        last_end, error = await cursor(stack.engine, poller.shop.channel, poller.shop.shop_id)
        assert last_end == t1 and "503" in error

    for fault in platforms.faults.values():
        fault.status = None
    after = {c: platforms.add(c, 2, t1 + timedelta(minutes=8)) for c in COUNTS}
    t3 = t1 + timedelta(minutes=10)
    filled = await run_all(pollers, t3)
    for channel, result in filled.items():
        assert result.window is not None
        assert result.window[0] == t1 - timedelta(seconds=120), channel  # old cursor - overlap
        assert result.queued == 6, channel  # the orders of the failed window and the new ones
    keys = await stored_keys(stack.engine, 27)
    assert sorted(keys) == sorted(k for group in (before, during, after)
                                  for ks in group.values() for k in ks)
    for poller in pollers.values():
        assert await cursor(stack.engine, poller.shop.channel, poller.shop.shop_id) == (t3, None)


async def test_two_runs_for_one_shop_at_once_poll_once(
        stack: Stack, platforms: Platforms) -> None:
    now = datetime.now(UTC).replace(microsecond=0)  # a whole second: one day-long TOP slice
    platforms.add("taobao", 60, now - timedelta(hours=2))
    first = (await stack.start_app())["poll:taobao:tb"]
    # Embedded mode is one process: two calls in it. Production: a second app (another
    # process, as far as Redis is concerned) sharing the database and Redis.
    second = (await stack.start_app())["poll:taobao:tb"] if stack.production else first
    platforms.faults["taobao"].delay_s = 0.2  # each platform call takes a while
    results = await asyncio.gather(first.run(now), second.run(now))
    assert sorted(r.skipped for r in results) == [False, True]
    assert [r.orders for r in results if not r.skipped] == [60]
    assert platforms.faults["taobao"].requests == 3  # one run: page count, then 2 pages
    assert len(await stored_keys(stack.engine, 60)) == 60


async def test_the_scheduled_job_polls_on_its_own(stack: Stack, platforms: Platforms) -> None:
    keys = platforms.add("jd", 5, datetime.now(UTC) - timedelta(minutes=3))
    job = (await stack.start_app())["poll:jd:jd1"].job
    assert job is not None
    job.resume()  # the scheduler's clock, trigger and executor from here on
    job.modify(next_run_time=datetime.now(UTC))
    assert sorted(await stored_keys(stack.engine, 5, within_s=10)) == sorted(keys)
    assert (await cursor(stack.engine, "jd", "jd1"))[1] is None


async def test_shutdown_mid_run_keeps_the_cursor_and_frees_the_lock(
        stack: Stack, platforms: Platforms, caplog: pytest.LogCaptureFixture) -> None:
    platforms.add("taobao", 60, datetime.now(UTC) - timedelta(hours=1))
    poller = (await stack.start_app())["poll:taobao:tb"]
    platforms.faults["taobao"].delay_s = 5.0
    run = asyncio.create_task(poller.run())
    await asyncio.sleep(0.3)  # the run holds the lock and waits for the platform
    await stack.servers.pop().close()  # the app shuts down
    assert run.cancelled()
    assert await scalar(stack.engine, "SELECT count(*) FROM poll_cursors") == 0
    platforms.faults["taobao"].delay_s = 0.0
    again = await (await stack.start_app())["poll:taobao:tb"].run()
    assert not again.skipped and again.orders == 60  # the lock went with the old app


def other_channel_orders(modified: datetime) -> dict[str, list[dict[str, Any]]]:
    """拼多多 (yuan amounts as JSON fractions), 抖店 and 微信小店 (ids beyond 2**53)."""
    pdd = _sample("pdd", "increment_single_line.json")["order_sn_increment_get_response"]
    douyin = _sample("douyin", "search_list_single_line.json")["data"]["shop_order_list"][0]
    wechat = _sample("wechat_shop", "order_get_single_line.json")["order"]
    stamp = int(modified.timestamp())
    return {
        "pdd": [dict(copy.deepcopy(pdd["order_sn_list"][0]), order_sn=f"260102-9{n:014d}",
                     updated_at=beijing(modified)) for n in range(3)],
        "douyin": [dict(copy.deepcopy(douyin), order_id=str(6920123456789012000 + n),
                        update_time=stamp) for n in range(3)],
        "wechat_shop": [dict(copy.deepcopy(wechat), order_id=3705115058471208000 + n,
                             update_time=stamp) for n in range(3)],
    }


async def test_pdd_douyin_and_wechat_shop_are_polled_too(stack: Stack) -> None:
    orders = other_channel_orders(datetime.now(UTC) - timedelta(hours=3))
    pdd_app = fake_pdd.make_app("pdd-client", "pdd-secret", orders["pdd"])
    douyin_app = fake_douyin.make_app("dy-key", "dy-secret", orders["douyin"])
    wechat = FakeWechatShop(orders["wechat_shop"], appid="wxappid", app_secret="wx-secret")
    servers = [TestServer(app, host="127.0.0.1") for app in (pdd_app, douyin_app, wechat.app)]
    for server in servers:
        await server.start_server()
    base = [str(server.make_url("")).rstrip("/") for server in servers]
    shops = (ShopConfig(channel="pdd", shop_id="pdd1", app_key="pdd-client",
                        app_secret="pdd-secret", access_token="pdd-token",
                        api_base=f"{base[0]}/api/router", poll=True, poll_interval_s=3600),
             ShopConfig(channel="douyin", shop_id="dy1", app_key="dy-key",
                        app_secret="dy-secret", access_token="dy-token", api_base=base[1],
                        poll=True, poll_interval_s=3600),
             ShopConfig(channel="wechat_shop", shop_id="wx1", app_key="wxappid",
                        app_secret="wx-secret", api_base=base[2], poll=True,
                        poll_interval_s=3600))
    stack.config = dataclasses.replace(stack.config, shops=shops)
    try:
        results = await run_all(await stack.start_app())
        # queued, not served: an order on a slice edge (拼多多 cuts 30-min slices) comes twice
        assert {c: (r.queued, r.error) for c, r in results.items()} == {
            "pdd": (3, None), "douyin": (3, None), "wechat_shop": (3, None)}
        keys = await stored_keys(stack.engine, 9)
    finally:
        for server in servers:
            await server.close()
    assert sorted(keys) == sorted(
        [f"pdd:260102-9{n:014d}" for n in range(3)]
        + [f"douyin:{6920123456789012000 + n}" for n in range(3)]
        + [f"wechat_shop:{3705115058471208000 + n}" for n in range(3)])
    async with stack.engine.connect() as conn:
        paid = (await conn.execute(text(
            "SELECT paid_fen FROM orders WHERE channel = 'pdd'"))).scalars().all()
    assert set(paid) == {4190}  # pay_amount 41.9 (a JSON fraction), to the fen
