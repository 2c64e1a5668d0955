"""Cards ingestion sends, through the real service (real webhooks, inbox, workers, outbox
sender, web chat pages on live websockets), on the embedded and the production stack.

Transcripts:
- 有赞 and 淘宝 push orders of the same buyer and goods 10-60 s apart: exactly one
  suspected-duplicate card reaches the agents; the platforms push the same orders again
  (identical retries and re-signed repeats): no second card. Also with WeCom enabled: one
  template_card per agent UserID through the fake WeCom API.
- With ``[cards] new_order`` on, the warehouse gets one card per newly stored order, none for
  an update of it; with it off (the default), nobody gets one.
- A burst of bad payloads: ops get a few cards one by one, the last saying the rest will be
  summed up, then one digest per window; every dead letter is accounted for, once.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from bot.config import CardsConfig, Config, DatabaseConfig, InboxConfig, ShopConfig
from bot.demo.generator import DemoOrder, OrderGenerator, Variant, advance
from bot.demo.pushes import SignedPush, signed_push
from bot.outbox_sender import SenderSettings
from tests.e2e.chat_store import eventually, scalar
from tests.e2e.chat_support import Page, chat_service
from tests.e2e.demo_orders import SHOPS
from tests.e2e.pushes import youzan_order
from tests.e2e.wecom_service import SEND, wecom_settings
from tests.fakes.channels import youzan as fake_youzan
from tests.fakes.wecom import FakeWeCom
from tests.redis_support import forget_keys

BROKEN = ShopConfig(channel="youzan", shop_id="yzb", webhook_secret="cid:secret")
AGENTS_ON_WEBCHAT = 2  # 张三 (agent), 李四 (supervisor + agent)


@dataclass
class Service:
    base: str
    db_url: str
    session: aiohttp.ClientSession

    async def push(self, order: DemoOrder, now: datetime | None = None) -> int:
        """The order as its platform pushes it, signed for the demo shop at ``now``."""
        return await self.post(order.channel, signed_push(order, SHOPS[order.channel],
                                                          now or datetime.now(UTC)))

    async def post(self, channel: str, signed: SignedPush) -> int:
        url = f"{self.base}/webhooks/{channel}/{SHOPS[channel].shop_id}"
        async with self.session.post(url, data=signed.body, headers=dict(signed.headers),
                                     params=dict(signed.query)) as response:
            return response.status

    async def count(self, sql: str, **params: object) -> int:
        return await scalar(self.db_url, sql, **params)

    async def until(self, sql: str, expected: int, within: float = 20) -> int:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            value = await self.count(sql)
            if value >= expected or asyncio.get_running_loop().time() > deadline:
                return value
            await asyncio.sleep(0.1)


@pytest.fixture(params=["embedded", "production"])
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Config]:
    """Embedded: SQLite + SQL inbox. Production: PostgreSQL + Redis Streams (its keys deleted
    afterwards)."""
    production = request.param == "production"
    db_url = str(request.getfixturevalue("pg_url" if production else "sqlite_url"))
    inbox = InboxConfig(backend="redis" if production else "sql",
                        stream_prefix=f"test-{uuid.uuid4().hex[:8]}", reclaim_idle_s=5.0)
    yield Config(database=DatabaseConfig(url=db_url), inbox=inbox,
                 shops=(*SHOPS.values(), BROKEN))
    await forget_keys(f"{inbox.stream_prefix}:*")


@pytest.fixture
async def fresh(stack: Config) -> Config:
    """The shared PostgreSQL test database emptied (SQLite files are fresh per test)."""
    from tests.conftest import fresh_engine

    engine = await fresh_engine(stack.database.url)
    await engine.dispose()
    return stack


@pytest.fixture
def cards() -> CardsConfig:
    return CardsConfig()


@pytest.fixture
async def service(fresh: Config, cards: CardsConfig, monkeypatch: pytest.MonkeyPatch
                  ) -> AsyncIterator[Service]:
    async with chat_service(replace(fresh, cards=cards), monkeypatch) as base:
        async with aiohttp.ClientSession() as session:
            yield Service(base, fresh.database.url, session)


def twins(seed: int = 11) -> tuple[DemoOrder, DemoOrder]:
    """A 有赞 order and, 10-60 s later, the same buyer's same goods on 淘宝."""
    generator = OrderGenerator(random.Random(seed))
    now = datetime.now(UTC)
    original = generator.order("youzan", now)
    return original, generator.order("taobao", now, Variant.DUPLICATE)


CARDS_OF = "SELECT count(*) FROM cards WHERE kind = '{}'"
ROWS_OF = ("SELECT count(*) FROM outbox o JOIN cards c ON c.card_id = o.card_id "
           "WHERE c.kind = '{}'")


async def test_one_duplicate_card_reaches_the_agents_once(service: Service) -> None:
    original, twin = twins()
    agent = await Page(service.session, service.base, "zhangsan").open()
    supervisor = await Page(service.session, service.base, "lisi").open()
    first = datetime.now(UTC)
    pushes = [(o.channel, signed_push(o, SHOPS[o.channel], first)) for o in (original, twin)]
    for stored, (channel, signed) in enumerate(pushes, start=1):
        assert await service.post(channel, signed) == 200
        # one after the other, as two platforms push: twins stored by two workers in the
        # same instant are missed on PostgreSQL (tests/contract/test_ingest_cards.py,
        # test_twins_in_two_concurrent_batches)
        assert await service.until("SELECT count(*) FROM orders", stored) == stored
    card = (await agent.next_of("card", within=30))["payload"]["card"]
    assert card["title"] == "疑似重复订单"
    fields = dict(card["fields"])
    # the one a worker stored second is held (with two workers, either may be)
    assert {fields["订单"], fields["疑似重复"]} == {f"youzan:{original.order_id}",
                                               f"taobao:{twin.order_id}"}
    assert (await supervisor.next_of("card"))["payload"]["card"]["card_id"] == card["card_id"]

    for channel, signed in pushes:  # the platforms retry, byte for byte
        assert await service.post(channel, signed) == 200
    later = first + timedelta(seconds=5)
    for order in (original, twin):  # and push again later (re-signed; 有赞's body changes)
        assert await service.push(order, later) == 200
    assert await service.until("SELECT count(*) FROM snapshots", 3) == 3  # processed
    with pytest.raises(TimeoutError):
        await agent.next_of("card", within=3)
    assert await service.count(CARDS_OF.format("suspected_duplicate")) == 1
    assert await service.count(ROWS_OF.format("suspected_duplicate")) == AGENTS_ON_WEBCHAT
    assert await service.count(
        "SELECT count(*) FROM anomalies WHERE code = 'SUSPECTED_DUPLICATE'") == 1


@pytest.mark.parametrize("cards", [CardsConfig(new_order=True, new_order_to="warehouse")])
async def test_new_order_cards_when_switched_on(service: Service) -> None:
    warehouse = await Page(service.session, service.base, "wangwu").open()
    order, _ = twins(seed=5)
    assert await service.push(order) == 200
    card = (await warehouse.next_of("card", within=30))["payload"]["card"]
    assert card["title"] == f"新订单 youzan:{order.order_id}" and not card["buttons"]
    assert dict(card["fields"])["渠道"] == "youzan"
    shipped = advance(order, datetime.now(UTC))
    while shipped is not None and shipped.stage.value != "shipped":
        shipped = advance(shipped, datetime.now(UTC))
    assert shipped is not None
    assert await service.push(shipped) == 200  # an update of the stored order
    assert await service.until("SELECT count(*) FROM order_events WHERE kind = "
                               "'state_changed'", 1)
    with pytest.raises(TimeoutError):
        await warehouse.next_of("card", within=2)
    assert await service.count(CARDS_OF.format("new_order")) == 1


async def test_no_new_order_cards_by_default(service: Service) -> None:
    warehouse = await Page(service.session, service.base, "wangwu").open()
    agent = await Page(service.session, service.base, "zhangsan").open()
    order, _ = twins(seed=5)
    assert await service.push(order) == 200
    assert await service.until("SELECT count(*) FROM orders", 1) == 1
    for page in (warehouse, agent):
        with pytest.raises(TimeoutError):
            await page.next_of("card", within=1.5)
    assert await service.count("SELECT count(*) FROM cards") == 0


BURST = 40


@pytest.mark.parametrize("cards", [CardsConfig(dead_letter_cards=3, dead_letter_window_s=10)])
async def test_a_burst_of_dead_letters_is_paced_for_ops(service: Service) -> None:
    ops = await Page(service.session, service.base, "zhaoliu").open()
    for n in range(BURST):  # verified pushes in a shape the adapter refuses
        broken = youzan_order(f"E9{n:03d}", status="TELEPORTED")
        assert await fake_youzan.push(f"{service.base}/webhooks/youzan/yzb", broken,
                                      client_id="cid", client_secret="secret") == 200
    assert await service.until("SELECT count(*) FROM dead_letters", BURST) == BURST
    singles, digests = await _ops_cards(ops, BURST)
    windows = len(digests) or 1
    assert 1 <= len(singles) <= 3 * (windows + 1)  # the burst may straddle a window edge
    assert any("汇总为一张卡片" in card["body"] for card in singles)
    held = sum(int(dict(card["fields"])["共计"]) for card in digests) - 3 * len(digests)
    assert len(singles) + held == BURST  # every dead letter: a card of its own or counted
    assert all("webhook:youzan × " in card["body"] for card in digests)
    assert await service.count("SELECT sum(dead_lettered) FROM channel_counters") == BURST


async def _ops_cards(ops: Page, letters: int) -> tuple[list[dict[str, Any]],
                                                       list[dict[str, Any]]]:
    """Ops' cards until every dead letter is accounted for (the window closes within 10 s
    and the digest job looks every second)."""
    singles: list[dict[str, Any]] = []
    digests: list[dict[str, Any]] = []
    while True:
        card = (await ops.next_of("card", within=25))["payload"]["card"]
        if card["title"].startswith("死信汇总"):
            digests.append(card)
        else:
            singles.append(card)
        held = sum(int(dict(c["fields"])["共计"]) for c in digests) - 3 * len(digests)
        if len(singles) + held >= letters:
            return singles, digests


async def test_the_duplicate_card_reaches_agents_on_wecom_once(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same transcript with WeCom enabled: the card leaves by message/send as a
    template_card (button_interaction), once to each agent's UserID."""
    async with FakeWeCom() as fake:
        config = Config(database=DatabaseConfig(url=sqlite_url), wecom=wecom_settings(fake),
                        inbox=InboxConfig(backend="sql"), shops=tuple(SHOPS.values()))
        async with chat_service(config, monkeypatch, settings=SenderSettings(poll_s=0.05)
                                ) as base, aiohttp.ClientSession() as http:
            service = Service(base, sqlite_url, http)
            original, twin = twins(seed=23)
            for order in (original, twin, original, twin):  # the second pair: retries
                assert await service.push(order) == 200

            def duplicate_cards() -> list[Any]:
                return [r.body for r in fake.calls(SEND) if r.body["msgtype"] == "template_card"
                        and r.body["template_card"]["main_title"]["title"] == "疑似重复订单"]

            await eventually(lambda: len(duplicate_cards()) >= 2)
            await asyncio.sleep(1.5)  # anything more would have been sent by now
    assert sorted(card["touser"] for card in duplicate_cards()) == ["LiSi", "ZhangSan"]
    assert {card["template_card"]["card_type"] for card in duplicate_cards()} == \
        {"button_interaction"}
