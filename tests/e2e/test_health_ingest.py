"""Health checks on every new or changed order, through the real service: signed channel pushes
to the real webhooks, the SQL inbox and workers, the web chat pages on live websockets, the
installed console script for the stock snapshot and the report. Embedded stack (SQLite).

Transcripts:
- 有赞 pushes an order without an address: the agent's page gets the A card "收货地址缺失"
  (with its escalation timer; the order is held). The shop fixes the address and 有赞 pushes
  the order again: the anomaly closes by itself (resolution ``auto``), the agent's card says
  so and loses its button, the timer is gone, the order is no longer held; ``/metrics`` shows
  a self-healing rate of 1. The same push once more (a pure duplicate) is not checked again.
- With ``phone.invalid`` in shadow mode, a 京东 order with a bad mobile opens nothing but is
  counted: ``/metrics`` and ``orderbot report anomalies --since`` (JSON and table) show the hit.
- ``orderbot stock load`` puts the grey sofa at 0 (blue 0, beige 35): a 淘宝 order for it gets
  the B card "替换为 SOFA-BEI-2"; one tap changes the line. A custom corner sofa too shallow
  for the workshop (remark "进深 50cm") freezes its order with a C card to production.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app import build_app
from bot.config import Config, DatabaseConfig, InboxConfig
from bot.demo.data import CUSTOM_SKUS, PLACES
from bot.demo.generator import DemoOrder, Variant
from bot.demo.setup import DEMO_RULE
from bot.health_config import HealthConfig
from core.clock import SHANGHAI
from tests.e2e import chat_store, demo_orders
from tests.e2e.chat_support import ANOMALY_PEOPLE, Page, ServiceClock, serve
from tests.e2e.demo_orders import DEMO_SUBSTITUTES, SHOPS, made

SCRIPT = Path(sys.executable).parent / "orderbot"


@dataclass
class Service:
    base: str
    db_url: str
    session: aiohttp.ClientSession

    async def push(self, order: DemoOrder) -> int:
        return await demo_orders.push(self.session, self.base, order)

    async def value(self, sql: str, **params: object) -> Any:
        return await chat_store.value(self.db_url, sql, **params)

    async def until(self, sql: str, expected: object) -> object:
        return await chat_store.until(self.db_url, sql, expected)

    async def metrics(self) -> str:
        async with self.session.get(f"{self.base}/metrics") as response:
            assert response.status == 200
            return await response.text()

    def script(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """The installed ``orderbot`` console script on this service's database."""
        env = {"ORDERBOT_DATABASE__URL": self.db_url, "PATH": "/usr/bin:/bin"}
        return subprocess.run([str(SCRIPT), *args], input=stdin, capture_output=True,
                              text=True, env=env, timeout=60, check=False)


@pytest.fixture
async def service(sqlite_url: str) -> AsyncIterator[Service]:
    """The service with the demo shops; its clock stands still, so SLA timers never fire by
    themselves during these tests."""
    health = HealthConfig(modes={"phone.invalid": "shadow"}, custom_skus=dict(CUSTOM_SKUS),
                          custom=(DEMO_RULE,))
    config = Config(database=DatabaseConfig(url=sqlite_url),
                    inbox=InboxConfig(backend="sql", poll_ms=20), people=ANOMALY_PEOPLE,
                    shops=tuple(SHOPS.values()), health=health, substitutes=DEMO_SUBSTITUTES)
    async with serve(build_app(config, clock=ServiceClock())) as base, \
            aiohttp.ClientSession() as session:
        yield Service(base, sqlite_url, session)


ANOMALY = "SELECT {} FROM anomalies WHERE order_key = :k AND code = :c"


async def test_missing_address_push_gives_an_a_card_and_a_fixed_push_closes_it(
        service: Service) -> None:
    order = made("youzan", Variant.MISSING_ADDRESS)
    key = f"youzan:{order.order_id}"
    agent = await Page(service.session, service.base, "zhangsan").open()
    assert await service.push(order) == 200
    card = await agent.card_titled("[A] 收货地址缺失")
    assert dict(card["fields"])["订单"] == key
    assert [b["label"] for b in card["buttons"]] == ["已补录"]
    assert "收货地址缺少" in card["body"]
    assert await service.value(ANOMALY.format("status"), k=key, c="ADDRESS_MISSING") == "open"
    assert await service.value("SELECT count(*) FROM timers WHERE kind = 'anomaly.escalate'") \
        == 1
    opened = await service.value("SELECT count(*) FROM order_events WHERE order_key = :k AND "
                                 "kind = 'anomaly_opened'", k=key)
    assert opened == 1

    place = PLACES[0]
    fixed = replace(order, place=place, street=f"{place.streets[0]}3栋2单元1202室",
                    updated_at=order.updated_at + timedelta(minutes=1))
    assert await service.push(fixed) == 200
    update = (await agent.next_of("card_update"))["payload"]["card"]
    assert update["card_id"] == card["card_id"] and update["buttons"] == []
    assert "自动关闭" in update["status"]
    assert await service.value(ANOMALY.format("resolution"), k=key, c="ADDRESS_MISSING") \
        == "auto"
    assert await service.value("SELECT count(*) FROM timers WHERE kind = 'anomaly.escalate'") \
        == 0
    assert "orderbot_anomaly_self_healing_ratio 1.0" in await service.metrics()

    hits = "SELECT coalesce(sum(hits), 0) FROM health_rule_hits"
    events = "SELECT count(*) FROM order_events WHERE order_key = :k"
    before = (await service.value(hits), await service.value(events, k=key))
    assert before[0] == 1  # the missing address, once
    assert await service.push(fixed) == 200  # the same push again: nothing to check
    assert await service.until("SELECT count(*) FROM inbox", 0) == 0  # processed (or deduped)
    await asyncio.sleep(0.3)
    assert (await service.value(hits), await service.value(events, k=key)) == before


async def test_shadow_rule_is_only_counted_and_reported(service: Service) -> None:
    order = made("jd", Variant.INVALID_PHONE)
    assert await service.push(order) == 200
    assert await service.until("SELECT count(*) FROM health_rule_hits", 1) == 1
    assert await service.value("SELECT count(*) FROM anomalies") == 0
    assert await service.value("SELECT hits FROM health_rule_hits WHERE rule = 'phone.invalid' "
                               "AND mode = 'shadow'") == 1
    metric = ('orderbot_health_rule_hits_total{code="PHONE_INVALID",mode="shadow",'
              'rule="phone.invalid"} 1.0')
    assert metric in await service.metrics()

    today = datetime.now(SHANGHAI).date().isoformat()
    done = await asyncio.to_thread(service.script, "report", "anomalies", "--since", today,
                                   "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["rule_hits"] == [{"rule": "phone.invalid", "code": "PHONE_INVALID",
                                    "mode": "shadow", "hits": 1}]
    assert report["opened"] == 0 and report["self_healing_rate"] is None
    table = await asyncio.to_thread(service.script, "report", "anomalies", "--since", today)
    assert table.returncode == 0, table.stderr
    row = next(line for line in table.stdout.splitlines() if "phone.invalid" in line)
    assert row.split() == ["phone.invalid", "PHONE_INVALID", "shadow", "1"]
    bad = await asyncio.to_thread(service.script, "report", "anomalies", "--since", "yesterday")
    assert bad.returncode == 2 and "--since" in bad.stderr


async def test_stock_and_custom_findings_give_b_and_c_cards(service: Service) -> None:
    loaded = await asyncio.to_thread(service.script, "stock", "load", "-", stdin=(
        "sku,available\nSOFA-GRY-2,0\nSOFA-BLU-2,0\nSOFA-BEI-2,35\n"))
    assert loaded.returncode == 0, loaded.stderr
    assert "3 SKU" in loaded.stdout
    agent = await Page(service.session, service.base, "zhangsan").open()
    production = await Page(service.session, service.base, "sunqi").open()

    sofa = made("taobao", Variant.OUT_OF_STOCK)
    assert await service.push(sofa) == 200
    card = await agent.card_titled("[B] 缺货（有替代品）")
    assert [b["label"] for b in card["buttons"]] == ["替换为 SOFA-BEI-2"]
    await agent.click(card, "sub_0")
    done = (await agent.next_of("card_update"))["payload"]["card"]
    assert done["status"].startswith("已由 张三 替换为 SOFA-BEI-2")
    key = f"taobao:{sofa.order_id}"
    assert await service.value(
        "SELECT l.sku FROM order_lines l JOIN orders o ON o.id = l.order_id "
        "WHERE o.channel = 'taobao' AND o.channel_order_id = :c", c=sofa.order_id) \
        == "SOFA-BEI-2"
    assert await service.value(ANOMALY.format("resolution"), k=key,
                               c="OUT_OF_STOCK_SUBSTITUTE") == "suggestion"

    custom = made("pdd", Variant.CUSTOM_CONFLICT)
    assert await service.push(custom) == 200
    frozen = await production.card_titled("[C] 定制图纸与工艺冲突")
    assert frozen["buttons"] == []
    assert "进深小于 60cm" in frozen["body"] and "depth_cm=50" in frozen["body"]
    assert dict(frozen["fields"])["处理前"] == "订单已冻结，不会继续流转"
    assert await service.value(ANOMALY.format("blocking"), k=f"pdd:{custom.order_id}",
                               c="CUSTOM_SPEC_CONFLICT") in (1, True)
