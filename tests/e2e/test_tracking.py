"""Unified tracking and the customer desk through the real service, against fake 快递100 and
快递鸟 servers that verify the real signatures: failover, cached trace with its age, verified
pushes moving the order, 36 h silence, and what a customer (or a stranger) is told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig
from bot.tracking import TRACKING
from bot.tracking_config import TrackingConfig
from bot.workers import utcnow
from core.customer_replies import NEED_PROOF, NO_MATCH, RATE_LIMITED, SILENT_NOTE
from core.states import OrderState
from core.tracking import Parcel, TraceLine, TrackingState, TrackReport
from handlers.check_silence import flag_silent_parcels
from handlers.track_parcel import apply_report, refresh_parcel, register_parcel
from handlers.tracking_ports import TrackingDeps
from integrations.logistics.base import beijing_text
from integrations.logistics.kuaidi100 import OK_ANSWER
from integrations.logistics.settings import KdniaoSettings, Kuaidi100Settings
from storage.db import create_engine
from tests.conftest import fresh_engine
from tests.e2e.chat_store import ingest
from tests.e2e.chat_support import PEOPLE, Page
from tests.factories import make_order
from tests.fakes.logistics import FakeKdniao, FakeKuaidi100

ORDER = make_order(71, status=OrderState.LABEL_PRINTED)  # receiver 13800000071, 文三路 72 号
NUMBER = "SF1400000071"


def beijing(hours_ago: float) -> str:
    return beijing_text(utcnow() - timedelta(hours=hours_ago))


LINES = [(beijing(20), "【杭州萧山】顺丰速运 已收取快件"), (beijing(6), "快件到达【杭州转运中心】")]


@dataclass
class Tracking:
    app: web.Application
    url: str
    http: aiohttp.ClientSession
    k100: FakeKuaidi100
    kdn: FakeKdniao
    db_url: str

    @property
    def deps(self) -> TrackingDeps:
        return self.app[TRACKING]

    async def get(self, q: str, last4: str | None = None, who: str = "1.2.3.4"
                  ) -> tuple[int, str]:
        params = {"q": q} | ({"last4": last4} if last4 else {})
        async with self.http.get(f"{self.url}/api/track", params=params,
                                 headers={"X-Forwarded-For": who}) as response:
            return response.status, (await response.json())["reply"]

    async def push(self, provider: str, form: dict[str, str]) -> tuple[int, Any]:
        async with self.http.post(f"{self.url}/callbacks/logistics/{provider}",
                                  data=form) as response:
            return response.status, await response.json()

    async def sql(self, query: str) -> list[Any]:
        engine = create_engine(self.db_url)
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(text(query))).all())
        finally:
            await engine.dispose()


async def _serve(app: web.Application) -> TestServer:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@asynccontextmanager
async def tracking_service(db_url: str, **changes: Any) -> AsyncIterator[Tracking]:
    await (await fresh_engine(db_url)).dispose()  # the shared PostgreSQL database, emptied
    k100, kdn = FakeKuaidi100(), FakeKdniao()
    k100_server, kdn_server = await _serve(k100.app()), await _serve(kdn.app())
    options: dict[str, Any] = {"timeout_s": 2.0, "trusted_proxies": ("127.0.0.1",),
                               "query_limit": 1000} | changes
    tracking = TrackingConfig(
        kuaidi100=Kuaidi100Settings(k100.customer, k100.key, k100.salt,
                                    str(k100_server.make_url(""))),
        kdniao=KdniaoSettings(kdn.ebusiness_id, kdn.app_key, str(kdn_server.make_url(""))),
        **options)
    config = Config(database=DatabaseConfig(url=db_url), inbox=InboxConfig(workers=1),
                    tracking=tracking, people=PEOPLE)
    server = await _serve(build_app(config))
    await ingest(db_url, ORDER)
    try:
        async with aiohttp.ClientSession() as http:
            yield Tracking(server.app, str(server.make_url("")).rstrip("/"), http, k100, kdn,
                           db_url)
    finally:
        await server.close()
        await k100_server.close()
        await kdn_server.close()


async def _register(service: Tracking) -> Parcel:
    parcel = Parcel("SF", NUMBER, ORDER.key, ORDER.channel, "wms", utcnow())
    stored, created = await register_parcel(service.deps, parcel, now=utcnow())
    assert created
    return stored


async def test_failover_to_kdniao_then_the_cached_trace_with_its_age(db_url: str) -> None:
    async with tracking_service(db_url, fresh_s=1) as service:
        service.k100.traces[NUMBER] = ("0", LINES[:1])
        service.kdn.traces[NUMBER] = ("2", LINES)
        parcel = await _register(service)
        first = await refresh_parcel(service.deps, parcel, now=utcnow())
        assert first.parcel.checked_by == "kuaidi100" and first.new_lines == 1
        assert service.k100.queries[-1]["phone"] == ORDER.receiver.phone  # 顺丰 needs it

        service.k100.down = True  # 快递100 answers 503: 快递鸟 is asked next
        second = await refresh_parcel(service.deps, parcel, now=utcnow())
        assert second.parcel.checked_by == "kdniao" and second.new_lines == 1
        assert service.kdn.queries[-1]["CustomerName"] == "0071"  # phone's last 4 for 顺丰
        assert second.parcel.state is TrackingState.IN_TRANSIT

        service.kdn.down = True  # both down: the stored trace, and how old it is
        await asyncio.sleep(1.1)  # older than fresh_s: the query asks the providers again
        status, reply = await service.get(NUMBER, "0071")
        assert status == 200
        assert f"{LINES[1][0][:16]} 快件到达【杭州转运中心】" in reply
        assert "快递查询暂时不可用，以上物流信息更新于 0 分钟前" in reply


async def test_push_with_a_bad_sign_changes_nothing_a_delivery_delivers(db_url: str) -> None:
    async with tracking_service(db_url) as service:
        await _register(service)
        service.k100.traces[NUMBER] = ("3", [*LINES, (beijing(1), "已签收，本人签收")])
        forged = service.k100.push_form(NUMBER, "shunfeng", salt="not-our-salt")
        status, body = await service.push("kuaidi100", forged)
        assert status == 401 and body["result"] is False
        assert await service.sql("SELECT count(*) FROM parcel_traces") == [(0,)]
        assert await service.sql("SELECT status FROM orders") == [("label_printed",)]

        status, body = await service.push("kuaidi100", service.k100.push_form(NUMBER,
                                                                              "shunfeng"))
        assert (status, body) == (200, OK_ANSWER)
        assert await service.sql("SELECT state FROM parcels") == [("delivered",)]
        assert await service.sql("SELECT status FROM orders") == [("delivered",)]
        moves = await service.sql("SELECT actor, data FROM order_events WHERE kind = "
                                  "'state_changed' ORDER BY seq")
        assert [_json(d)["to"] for _, d in moves] == ["picked_up", "delivered"]
        assert {a for a, _ in moves} == {"tracking:kuaidi100"}

        again = await service.push("kuaidi100", service.k100.push_form(NUMBER, "shunfeng"))
        assert again == (200, OK_ANSWER)  # a repeated push stores nothing twice
        assert await service.sql("SELECT count(*) FROM parcel_traces") == [(3,)]


def _json(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else dict(json.loads(value))


async def test_kdniao_push_verified_and_answered(db_url: str) -> None:
    async with tracking_service(db_url) as service:
        await _register(service)
        service.kdn.traces[NUMBER] = ("202", LINES)
        status, body = await service.push("kdniao", service.kdn.push_form(NUMBER, "SF",
                                                                          key="forged"))
        assert status == 401 and body["Success"] is False
        status, body = await service.push("kdniao", service.kdn.push_form(NUMBER, "SF"))
        assert status == 200 and body["Success"] is True and body["EBusinessID"] == "1237100"
        assert await service.sql("SELECT status FROM orders") == [("out_for_delivery",)]


async def test_36_hours_of_silence_opens_one_verification_task(db_url: str) -> None:
    async with tracking_service(db_url) as service:
        parcel = await _register(service)
        old = utcnow() - timedelta(hours=37)
        report = TrackReport("kuaidi100", "SF", NUMBER, TrackingState.IN_TRANSIT, "0",
                             (TraceLine(old, "快件到达【杭州转运中心】"),))
        await apply_report(service.deps, report, now=old)
        assert await flag_silent_parcels(service.deps, now=utcnow()) == 1
        assert await flag_silent_parcels(service.deps, now=utcnow()) == 0  # once per silence
        tasks = await service.sql("SELECT kind, status, owner FROM tasks")
        assert tasks == [("parcel_verification", "open", "role:ops")]
        cards = await service.sql("SELECT conversation, payload FROM outbox WHERE kind = 'card'")
        assert [c for c, _ in cards] == ["zhaoliu"]  # the ops role, on the web chat
        assert NUMBER in _json(cards[0][1])["card"]["title"]
        _status, reply = await service.get(NUMBER, "0071")
        assert SILENT_NOTE in reply and parcel.tracking_no in reply


async def test_customer_answer_is_masked_strangers_learn_nothing(db_url: str) -> None:
    async with tracking_service(db_url, query_limit=6) as service:
        service.k100.traces[NUMBER] = ("0", LINES)
        await _register(service)
        status, reply = await service.get(f"查单 {ORDER.channel_order_id}", "0071")
        assert status == 200
        assert f"订单 {ORDER.channel_order_id}：运输中" in reply
        assert "138****0071" in reply and ORDER.receiver.phone not in reply
        assert "文三" in reply and "文三路 72 号" not in reply
        assert "快件到达【杭州转运中心】" in reply and "预计送达" in reply
        # a stranger: the same neutral words whether the order exists or not
        assert (await service.get(ORDER.channel_order_id, who="6.6.6.6"))[1] == NEED_PROOF
        assert (await service.get("3900000000009999", who="6.6.6.6"))[1] == NEED_PROOF
        assert (await service.get(NUMBER, "1234", who="6.6.6.6"))[1] == NO_MATCH
        assert (await service.get("SF9999999999", "1234", who="6.6.6.6"))[1] == NO_MATCH
        for _ in range(2):
            await service.get("hello", who="6.6.6.6")
        assert await service.get(NUMBER, "0071", who="6.6.6.6") == (429, RATE_LIMITED)
        assert (await service.get(NUMBER, "0071", who="7.7.7.7"))[0] == 200  # per sender


async def test_web_chat_customer_is_bound_after_proving_the_phone(db_url: str) -> None:
    async with tracking_service(db_url) as service:
        service.k100.traces[NUMBER] = ("1", LINES[:1])
        await _register(service)
        page = await Page(service.http, service.url, "customer").open()
        assert await page.say(f"我的快递到哪了 {NUMBER}") == 202
        assert (await page.next_of("text"))["payload"]["text"] == NEED_PROOF
        assert await page.say(f"{NUMBER} 尾号0071") == 202
        answer = (await page.next_of("text"))["payload"]["text"]
        assert "138****0071" in answer and "已揽收" in answer
        assert await page.say(f"查单 {ORDER.channel_order_id}") == 202  # bound: no proof again
        assert "138****0071" in (await page.next_of("text"))["payload"]["text"]
        rows = await service.sql("SELECT platform, sender_id FROM customer_bindings")
        assert rows == [("webchat", "customer")]

