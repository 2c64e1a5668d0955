"""The suspected-duplicate card's "确认重复" through the real service: signed channel pushes ->
webhooks -> inbox workers -> ingestion (the duplicate found, its card and SLA timer written) ->
outbox -> web chat pages on live websockets; clicks back through /chat/api/click and the inbox.

Transcripts (staff: 张三, 孙八 agents; 李四, 钱七 supervisors):
- 有赞 and 淘宝 push the same buyer's same goods 40 s apart; both agents get one duplicate card.
  张三 taps 确认重复 twice: one gated merge proposal. Both supervisors get the merge card (both
  orders, masked; the accuracy line; 张三 as proposer); both agents' copies say it waits for a
  supervisor, without buttons; the anomaly's SLA timer is gone. 李四 taps 确认 twice and 钱七
  once: the duplicate is cancelled as merged into the kept order once, both traces say so,
  the anomaly is closed (gated), every copy of both cards is updated and 张三 is told.
- 李四 rejects instead: both orders stay, the anomaly stays open (the duplicate stays held),
  both agents' cards get their buttons back saying who rejected; 张三 then taps 不是重复.
- 李四 (supervisor and agent) taps 确认重复 on his own copy: he may decide merges, so it merges
  at once (no card to 钱七), recorded as the system's proposal confirmed by him.
- The SLA runs out (routing shortened to 1 s): the supervisors get the escalated copy; 张三's
  不是重复 closes it too, and with an SLA that has not run out the timer is cancelled.
- A merge nobody decides expires (deadline shortened to 1 s): the duplicate cards reopen.
- 确认重复 and 不是重复 tapped by two agents at once: one consistent outcome.
The first and the last also run on PostgreSQL + Redis Streams (several workers at once).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.config import Config, DatabaseConfig, InboxConfig
from bot.demo.generator import OrderGenerator, Variant
from bot.gating_config import GatingConfig
from bot.outbox_sender import SenderSettings
from bot.people_config import PersonConfig
from bot.routing_config import RouteConfig, RoutingConfig
from tests.conftest import fresh_engine
from tests.e2e.chat_store import scalar
from tests.e2e.chat_support import Page, chat_service
from tests.e2e.demo_orders import SHOPS, push
from tests.redis_support import REDIS_URL, redis_for_test

STAFF = (
    PersonConfig(id="zhangsan", name="张三", roles=("agent",)),
    PersonConfig(id="sunba", name="孙八", roles=("agent",)),
    PersonConfig(id="lisi", name="李四", roles=("supervisor", "agent")),
    PersonConfig(id="qianqi", name="钱七", roles=("supervisor",)),
)
FAST = SenderSettings(poll_s=0.05)
WHOLE_PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")  # not inside an order id
Event = dict[str, Any]


@dataclass
class Person:
    """One open web chat page, keeping every event it saw (so none is skipped over)."""

    page: Page
    seen: list[Event] = field(default_factory=list)

    async def wait(self, kind: str, match: Callable[[Any], bool] = lambda _: True,
                   within: float = 20) -> Any:
        """The first not yet taken ``kind`` event whose payload matches; it is taken."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for event in self.seen:
                if event["kind"] == kind and not event.get("taken") and match(event["payload"]):
                    event["taken"] = True
                    return event["payload"]
            left = deadline - asyncio.get_running_loop().time()
            assert left > 0, f"{self.page.who}: no {kind} within {within}s: {self.seen}"
            try:
                self.seen.append(await self.page.next_event(left))
            except TimeoutError:
                continue

    async def card(self, title: str, within: float = 20) -> dict[str, Any]:
        payload = await self.wait("card", lambda p: p["card"]["title"] == title, within)
        return dict(payload["card"])

    async def update(self, card_id: str, within: float = 20) -> dict[str, Any]:
        payload = await self.wait("card_update", lambda p: p["card"]["card_id"] == card_id,
                                  within)
        return dict(payload["card"])

    async def text(self, contains: str, within: float = 20) -> str:
        return str((await self.wait("text", lambda p: contains in p["text"], within))["text"])

    async def nothing_more(self, kind: str, within: float = 1.5) -> None:
        with pytest.raises(AssertionError):
            await self.wait(kind, within=within)


@dataclass
class Service:
    base: str
    db: str
    http: aiohttp.ClientSession

    async def push_twins(self, seed: int) -> None:
        """A 有赞 order and the same buyer's same goods on 淘宝 40 s later, as pushed."""
        generator = OrderGenerator(random.Random(seed))
        now = datetime.now(UTC)
        original = generator.order("youzan", now)
        twin = replace(generator.order("taobao", now, Variant.DUPLICATE),
                       created_at=original.created_at + timedelta(seconds=40))
        for order in (original, twin):
            assert await push(self.http, self.base, order, now) == 200

    async def person(self, who: str) -> Person:
        return Person(await Page(self.http, self.base, who).open())

    async def count(self, sql: str, **params: object) -> int:
        return await scalar(self.db, sql, **params)

    async def events(self, key: str, kind: str, **data: str) -> int:
        rows = await self.rows("SELECT data FROM order_events WHERE order_key = :k AND "
                               "kind = :kind", k=key, kind=kind)
        return sum(1 for row in rows if all(str(row.get(k)) == v for k, v in data.items()))

    async def rows(self, sql: str, **params: object) -> list[dict[str, Any]]:
        from sqlalchemy import text

        from storage.db import create_engine

        engine = create_engine(self.db)
        try:
            async with engine.connect() as conn:
                found = (await conn.execute(text(sql), params)).scalars().all()
        finally:
            await engine.dispose()
        return [json.loads(r) if isinstance(r, str) else dict(r) for r in found]


def config(url: str, routing: RoutingConfig | None = None,
           gating: GatingConfig | None = None) -> Config:
    return Config(database=DatabaseConfig(url=url), shops=tuple(SHOPS.values()),
                  routing=routing or RoutingConfig(), gating=gating or GatingConfig(),
                  inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0, poll_ms=20))


@pytest.fixture
async def service(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    async with chat_service(config(sqlite_url), monkeypatch, settings=FAST, people=STAFF
                            ) as base, aiohttp.ClientSession() as http:
        yield Service(base, sqlite_url, http)


@pytest.fixture(params=["embedded", "production"])
def stack(request: pytest.FixtureRequest) -> str:
    """Embedded: SQLite + SQL inbox and timers. Production: PostgreSQL + Redis Streams inbox
    + Redis timers. Returns the database URL."""
    return str(request.getfixturevalue("pg_url" if request.param == "production"
                                       else "sqlite_url"))


@pytest.fixture
async def stacked(stack: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Service]:
    engine = await fresh_engine(stack)  # the shared PostgreSQL database emptied
    await engine.dispose()
    async with redis_for_test() as (_, prefix):
        inbox = InboxConfig(backend="redis", redis_url=REDIS_URL, stream_prefix=prefix,
                            reclaim_idle_s=5.0, poll_ms=20) \
            if stack.startswith("postgresql") else config(stack).inbox
        async with chat_service(replace(config(stack), inbox=inbox), monkeypatch,
                                settings=FAST, people=STAFF) as base, \
                aiohttp.ClientSession() as http:
            yield Service(base, stack, http)


def fields(card: dict[str, Any]) -> dict[str, str]:
    return {k: v for k, v in card["fields"]}


async def duplicate_for_agents(service: Service, seed: int
                               ) -> tuple[Person, Person, dict[str, Any], str, str]:
    """Both agents' pages and the duplicate card they got; the duplicate and the kept key."""
    agent, agent2 = await service.person("zhangsan"), await service.person("sunba")
    await service.push_twins(seed)
    card = await agent.card("疑似重复订单", within=30)
    assert (await agent2.card("疑似重复订单"))["card_id"] == card["card_id"]
    return agent, agent2, card, fields(card)["订单"], fields(card)["疑似重复"]


async def anomaly_timers(service: Service) -> int:
    return await service.count("SELECT count(*) FROM timers WHERE kind = 'anomaly.escalate'")


async def test_agent_proposes_the_merge_and_a_supervisor_confirms_it_once(
        stacked: Service) -> None:
    service = stacked
    boss, boss2 = await service.person("lisi"), await service.person("qianqi")
    agent, agent2, card, duplicate, kept = await duplicate_for_agents(service, seed=11)
    assert await anomaly_timers(service) == 1  # B: escalates to a supervisor if untouched

    await asyncio.gather(agent.page.click(card, "confirm_duplicate"),
                         agent.page.click(card, "confirm_duplicate"))  # the double tap
    gate = await boss.card("待确认：合并重复订单")
    assert (await boss2.card("待确认：合并重复订单"))["card_id"] == gate["card_id"]
    evidence = fields(gate)
    assert evidence["订单"] == duplicate and evidence["保留订单"] == kept
    assert evidence["提议人"] == "张三" and "合并重复订单 建议准确率" in gate["body"]
    assert evidence["将取消（重复单）"].startswith(duplicate + "：")
    assert evidence["将保留"].startswith(kept + "：") and "****" in evidence["将保留"]
    assert not WHOLE_PHONE.search(json.dumps(gate, ensure_ascii=False))  # masked
    for page in (agent, agent2):
        waiting = await page.update(card["card_id"])
        assert waiting["buttons"] == [] and waiting["status"].startswith("已由 张三 提出合并")
        assert fields(waiting)["合并提议"].startswith("#")
    # the second tap acted on nothing: it found the proposal the first one filed
    told = await agent.wait("text", lambda p: "「合并重复订单」提议 #" in p["text"])
    assert "正等待主管决定" in told["text"] or "已有待确认" in told["text"]
    assert await service.count("SELECT count(*) FROM gate_proposals") == 1
    assert await anomaly_timers(service) == 0  # the proposal's own deadline runs now
    await agent2.page.click(card, "not_duplicate")  # an old copy's button: nothing happens
    assert "正等待主管决定" in await agent2.text("提议 #")
    await boss.page.click(card, "confirm_duplicate")  # 李四's copy (he is an agent too)
    assert "请在「待确认：合并重复订单」卡片上确认或拒绝" in await boss.text("提议 #")

    await asyncio.gather(boss.page.click(gate, "gate_confirm"),
                         boss.page.click(gate, "gate_confirm"))
    decided = await boss.update(gate["card_id"])
    assert decided["status"].startswith("已由 李四 确认") and decided["buttons"] == []
    assert f"已合并：{duplicate} 取消，保留 {kept}" in decided["body"]
    assert (await boss2.update(gate["card_id"]))["status"] == decided["status"]
    for page in (agent, agent2):
        closed = await page.update(card["card_id"])
        assert closed["buttons"] == [] and closed["status"].startswith("已由 李四 确认合并")
    assert "已被 李四 确认：已合并" in await agent.text("已被 李四 确认")
    assert await boss.text("此卡片已由 李四 处理")  # 李四's own second tap
    await boss2.page.click(gate, "gate_confirm")
    assert await boss2.text("此卡片已由 李四 处理")

    assert await service.events(duplicate, "state_changed", to="cancelled") == 1
    assert await service.events(duplicate, "merged_into", keep=kept) == 1
    assert await service.events(kept, "merged_from", duplicate=duplicate) == 1
    assert await service.events(duplicate, "gate_confirmed") == 1
    assert await service.events(kept, "state_changed", to="cancelled") == 0
    assert await service.count("SELECT count(*) FROM anomalies WHERE status = 'open'") == 0
    assert await service.count("SELECT count(*) FROM anomalies WHERE resolution = 'gated'"
                               ) == 1
    assert await service.count("SELECT count(*) FROM gate_proposals WHERE state = 'executed'"
                               ) == 1
    # every copy updated exactly as often as it changed: the duplicate card twice (waiting,
    # merged) for its three holders (李四 is an agent too), the gate card once for two
    assert await service.count("SELECT count(*) FROM outbox WHERE kind = 'card_update'") == 8


async def test_a_rejected_merge_keeps_both_orders_and_reopens_the_decision(
        service: Service) -> None:
    boss = await service.person("lisi")
    agent, agent2, card, duplicate, kept = await duplicate_for_agents(service, seed=17)
    await agent.page.click(card, "confirm_duplicate")
    gate = await boss.card("待确认：合并重复订单")
    waiting = await agent.update(card["card_id"])
    await boss.page.click(gate, "gate_reject")
    assert (await boss.update(gate["card_id"]))["status"].startswith("已由 李四 拒绝")
    assert "已被 李四 拒绝，未执行" in await agent.text("拒绝")
    for page in (agent, agent2):
        if page is agent2:
            await page.update(card["card_id"])  # its "waiting" copy
        again = await page.update(card["card_id"])
        assert [b["action"] for b in again["buttons"]] == ["not_duplicate", "confirm_duplicate"]
        assert "已被 李四 拒绝" in fields(again)["合并提议"] and again["status"] == ""
    assert await service.events(duplicate, "state_changed", to="cancelled") == 0
    assert await service.events(duplicate, "gate_rejected") == 1
    assert await service.count("SELECT count(*) FROM anomalies WHERE status = 'open'") == 1

    await agent.page.click(again, "not_duplicate")  # the decision the supervisor left open
    done = await agent.update(card["card_id"])
    assert done["status"].startswith("已由 张三 确认不是重复") and done["buttons"] == []
    assert waiting["version"] < again["version"] < done["version"]
    assert await service.count("SELECT count(*) FROM anomalies WHERE status = 'open'") == 0
    assert await service.events(duplicate, "anomaly_resolved", decision="not_duplicate") == 1
    assert await service.events(kept, "state_changed", to="cancelled") == 0


async def test_a_supervisor_confirming_the_duplicate_merges_at_once(service: Service) -> None:
    boss, boss2 = await service.person("lisi"), await service.person("qianqi")
    agent, _, card, duplicate, kept = await duplicate_for_agents(service, seed=29)
    mine = await boss.card("疑似重复订单")  # 李四 is an agent too: he holds a copy
    await boss.page.click(mine, "confirm_duplicate")
    merged = await boss.update(card["card_id"])
    assert merged["status"].startswith("已由 李四 确认重复") and merged["buttons"] == []
    assert f"结果：已合并：{duplicate} 取消，保留 {kept}" in merged["body"]
    assert (await agent.update(card["card_id"]))["status"] == merged["status"]
    await boss2.nothing_more("card")  # nothing for a second supervisor to decide
    assert await service.events(duplicate, "state_changed", to="cancelled") == 1
    assert await service.events(duplicate, "gate_proposed", proposer="system") == 1
    assert await service.events(kept, "merged_from", duplicate=duplicate) == 1
    assert await service.count(
        "SELECT count(*) FROM gate_proposals WHERE state = 'executed' AND proposer = 'system' "
        "AND decided_by = 'lisi'") == 1
    assert await service.count("SELECT count(*) FROM anomalies WHERE status = 'open'") == 0


async def test_not_duplicate_closes_the_escalated_copy_and_cancels_the_timer(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = RoutingConfig(rules=(RouteConfig(match="SUSPECTED_DUPLICATE", sla_s=1.0),))
    async with chat_service(config(sqlite_url, fast), monkeypatch, settings=FAST,
                            people=STAFF) as base, aiohttp.ClientSession() as http:
        service = Service(base, sqlite_url, http)
        boss2 = await service.person("qianqi")
        agent, agent2, card, duplicate, _ = await duplicate_for_agents(service, seed=31)
        escalated = await boss2.card("【升级】疑似重复订单")
        assert fields(escalated)["订单"] == duplicate
        marked = await agent.update(card["card_id"])  # the agents' copy says so
        assert marked["status"].startswith("已升级给主管")
        await agent.page.click(marked, "not_duplicate")
        done = await agent.update(card["card_id"])
        assert done["status"].startswith("已由 张三 确认不是重复")
        closed = await boss2.update(escalated["card_id"])
        assert closed["buttons"] == [] and closed["status"] == done["status"]
        await agent2.update(card["card_id"])
        assert (await agent2.update(card["card_id"]))["status"] == done["status"]
        assert await service.events(duplicate, "anomaly_resolved") == 1
        assert await anomaly_timers(service) == 0


async def test_not_duplicate_before_the_sla_cancels_the_escalation_timer(
        service: Service) -> None:
    agent, _, card, duplicate, _ = await duplicate_for_agents(service, seed=37)
    assert await anomaly_timers(service) == 1
    await agent.page.click(card, "not_duplicate")
    assert (await agent.update(card["card_id"]))["status"].startswith("已由 张三 确认不是重复")
    assert await anomaly_timers(service) == 0
    assert await service.events(duplicate, "anomaly_resolved", decision="not_duplicate") == 1


async def test_a_merge_nobody_decides_expires_and_reopens_the_decision(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    quick = GatingConfig(merge_deadline_min=1 / 60)  # one second to decide
    async with chat_service(config(sqlite_url, gating=quick), monkeypatch, settings=FAST,
                            people=STAFF) as base, aiohttp.ClientSession() as http:
        service = Service(base, sqlite_url, http)
        boss = await service.person("lisi")
        agent, _, card, duplicate, _ = await duplicate_for_agents(service, seed=41)
        await agent.page.click(card, "confirm_duplicate")
        gate = await boss.card("待确认：合并重复订单")
        assert (await boss.update(gate["card_id"]))["status"].startswith("已过期")
        await agent.update(card["card_id"])  # waiting for the supervisor
        again = await agent.update(card["card_id"])
        assert "已过期" in fields(again)["合并提议"] and len(again["buttons"]) == 2
        assert "已过期，未执行" in await agent.text("已过期")
        assert await service.events(duplicate, "gate_expired") == 1
        assert await service.events(duplicate, "state_changed", to="cancelled") == 0
        assert await service.count("SELECT count(*) FROM anomalies WHERE status = 'open'") == 1


async def test_not_duplicate_and_confirm_at_once_leave_one_consistent_outcome(
        stacked: Service) -> None:
    """Two agents tap the two buttons at the same moment (through any worker): either the
    anomaly is resolved and no merge was proposed, or the merge waits and the anomaly is open."""
    agent, agent2, card, duplicate, _ = await duplicate_for_agents(stacked, seed=43)
    await asyncio.gather(agent.page.click(card, "confirm_duplicate"),
                         agent2.page.click(card, "not_duplicate"))
    final = await agent.update(card["card_id"])
    proposals = await stacked.count("SELECT count(*) FROM gate_proposals")
    still_open = await stacked.count("SELECT count(*) FROM anomalies WHERE status = 'open'")
    if final["status"].startswith("已由 张三 提出合并"):
        assert (proposals, still_open) == (1, 1)
        assert await stacked.events(duplicate, "anomaly_resolved") == 0
    else:
        assert final["status"].startswith("已由 孙八 确认不是重复")
        assert (proposals, still_open) == (0, 0)
        assert await stacked.events(duplicate, "gate_proposed") == 0
    assert await stacked.count("SELECT count(*) FROM outbox WHERE kind = 'card_update'") == 3
