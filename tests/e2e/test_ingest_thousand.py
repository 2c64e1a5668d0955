"""1,000 orders from all seven channels through the real webhook endpoint, on both stacks.

Transcript. The fake platforms (淘宝 奇门, 抖店, 拼多多, 京东, 有赞, 微信小店 and POS uploads)
push 1,000 orders to ``POST /webhooks/<channel>/<shop>``, each signed the way that platform
signs. 抖店 and 微信小店 (and every third 京东 notice) push only ids: the bot fetches those
orders from the running fake platform's detail API. A POS upload carries two receipts.

* 20 orders (2%) are malformed but correctly signed: an unknown status word, a missing required
  field, a bad amount. The bot acknowledges them and dead-letters each with the reason.
* 100 deliveries are repeats: 40 right after the original (two of them of a malformed push),
  30 later, and 30 are a later status change of a stored order (a new payload: an update).
* The bot stores exactly the 980 valid orders, each once with one ``ingested`` event; the
  status changes show; and per channel the counters account for everything a worker received.

Counting rules (core/counters.py, bot/webhooks.py): the inbox drops a push whose *body* it has
already queued (dedup on the body's digest), so an identical re-delivery reaches no worker and
counts nowhere; 微信小店 (fresh AES IV) and 京东 (timestamp inside the signed form) re-sign
into new bytes, so their repeats reach a worker and count as received + duplicate. A worker
counts one ``received`` per order parsed from a payload, plus one per payload that fails to
parse (which is also ``dead_lettered``); a new order or a changed one is ``stored``, an
identical one a ``duplicate``; ``late`` is a new order paid more than 10 minutes earlier.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import CONSUMER, build_app
from bot.config import Config, DatabaseConfig, InboxConfig
from tests.conftest import fresh_engine
from tests.e2e.channel_traffic import (
    Delivery,
    Doc,
    Douyin,
    Jd,
    Pdd,
    Platform,
    Pos,
    Taobao,
    WechatShop,
    Youzan,
)
from tests.fakes.channels import douyin as fake_douyin
from tests.fakes.channels.jd import FakeJos
from tests.fakes.channels.wechat_shop import FakeWechatShop
from tests.redis_support import forget_keys

ORDERS = 1000
MALFORMED = 20  # orders n = 7, 57, 107, ... 957: every channel gets some
CONCURRENCY = 32
LATE, ON_TIME = timedelta(hours=2), timedelta(minutes=1)  # paid this long before the push
WITHIN_S = 40.0
WECHAT_SECRET = f"wx-token:{base64.b64encode(bytes(range(32))).decode().rstrip('=')}:wxappid"


@dataclass(frozen=True, eq=False)
class Batch:
    """Orders of one platform pushed together, as first built (``problem``: malformed, and
    the words its dead-letter reason must contain)."""

    platform: Platform
    docs: tuple[Doc, ...]
    problem: str | None = None

    def deliver(self) -> Delivery:
        return self.platform.deliver(self.docs, 1)


@dataclass
class Tally:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    late: int = 0


@dataclass
class Expected:
    """What the bot must make of each delivery, by the counting rules above."""

    late_keys: set[str]
    problems: dict[bytes, tuple[Delivery, str]] = field(default_factory=dict)
    counters: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    _bodies: set[bytes] = field(default_factory=set)
    _versions: dict[str, int] = field(default_factory=dict)

    def deliver(self, delivery: Delivery, problem: str | None = None) -> None:
        if delivery.body in self._bodies:
            return  # the inbox has queued these bytes before: dropped at the door
        self._bodies.add(delivery.body)
        tally = self.counters[delivery.channel]
        if problem is not None:
            tally.received += 1
            tally.dead_lettered += 1
            self.problems[delivery.body] = (delivery, problem)
            return
        for key in delivery.keys:
            tally.received += 1
            seen = self._versions.get(key)
            if seen is None:
                tally.stored += 1
                tally.late += key in self.late_keys
            elif delivery.version > seen:
                tally.stored += 1
            else:
                tally.duplicates += 1
            self._versions[key] = max(seen or 0, delivery.version)

    @property
    def received(self) -> int:
        return sum(t.received for t in self.counters.values())


class Backlog(Protocol):
    async def size(self) -> int: ...


@dataclass
class Stack:
    base: str
    engine: AsyncEngine
    app: web.Application
    platforms: list[Platform]


@pytest.fixture(params=["embedded", "production"])
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    """The fake platforms on 127.0.0.1, then the real app configured with one shop per channel
    (API base URLs pointing at the fakes). Embedded: SQLite + SQL inbox; production:
    PostgreSQL + Redis Streams."""
    production = request.param == "production"
    db_url = str(request.getfixturevalue("pg_url" if production else "sqlite_url"))
    engine = await fresh_engine(db_url)
    douyin_fake = fake_douyin.make_app("dy-app", "dy-secret", [])
    jos, wechat = FakeJos([]), FakeWechatShop([])
    fakes = [TestServer(app, host="127.0.0.1") for app in (douyin_fake, jos.app, wechat.app)]
    for fake in fakes:
        await fake.start_server()
    douyin_url, jos_url, wechat_url = (str(f.make_url("")).rstrip("/") for f in fakes)
    platforms: list[Platform] = [
        Taobao(), Douyin(douyin_fake, douyin_url), Pdd(), Jd(jos, jos_url), Youzan(),
        WechatShop(wechat, wechat_url, WECHAT_SECRET), Pos()]
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    # Reclaiming is tested elsewhere (test_inbox_kill); here a slow batch on a loaded machine
    # must not be taken over mid-flight and counted twice, so the idle limit is generous.
    inbox = InboxConfig(backend="redis" if production else "sql", stream_prefix=prefix,
                        reclaim_idle_s=30.0)
    config = Config(database=DatabaseConfig(url=db_url), inbox=inbox,
                    shops=tuple(p.shop for p in platforms))
    server = TestServer(build_app(config), host="127.0.0.1")
    await server.start_server()
    try:
        yield Stack(str(server.make_url("")).rstrip("/"), engine, server.app, platforms)
    finally:
        await server.close()
        for fake in fakes:
            await fake.close()
        await engine.dispose()
        if production:
            await forget_keys(f"{prefix}:*")


def first_pushes(platforms: Sequence[Platform], now: datetime) -> tuple[list[Batch], set[str]]:
    """1,000 orders round-robin over the channels; every 50th malformed (three ways in turn);
    every third paid two hours ago (late), the rest a minute ago. POS receipts go in pairs."""
    batches: list[Batch] = []
    late: set[str] = set()
    open_pos: int | None = None
    for n in range(ORDERS):
        platform = platforms[n % len(platforms)]
        doc = platform.order(n, now - (LATE if n % 3 == 0 else ON_TIME))
        if n % 3 == 0:
            late.add(f"{platform.channel}:{platform.order_id(doc)}")
        if n % 50 == 7:
            doc, problem = platform.malformed(doc, (n // 50) % 3)
            batches.append(Batch(platform, (doc,), problem))
        elif isinstance(platform, Pos) and open_pos is not None:
            batches[open_pos] = Batch(platform, (*batches[open_pos].docs, doc))
            open_pos = None
        else:
            batches.append(Batch(platform, (doc,)))
            open_pos = len(batches) - 1 if isinstance(platform, Pos) else open_pos
    return batches, late


async def push_all(base: str, deliveries: Sequence[Delivery]) -> list[int]:
    """POST every delivery, ``CONCURRENCY`` at a time; the HTTP statuses, in order."""
    gate = asyncio.Semaphore(CONCURRENCY)
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def push(delivery: Delivery) -> int:
            url = f"{base}/webhooks/{delivery.channel}/{delivery.shop}"
            async with gate, session.post(url, params=dict(delivery.query), data=delivery.body,
                                          headers=dict(delivery.headers)) as response:
                await response.read()
                return response.status

        return list(await asyncio.gather(*(push(d) for d in deliveries)))


async def scalar(engine: AsyncEngine, sql: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(sql))).scalar_one() or 0)


async def drained(stack: Stack, received: int) -> None:
    """Wait until the inbox is empty (every queued push acked) and the counters show
    ``received``: from then on nothing more can change."""
    inbox = cast(Backlog, stack.app[CONSUMER])
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WITHIN_S
    while True:
        counted = await scalar(stack.engine, "SELECT sum(received) FROM channel_counters")
        backlog = await inbox.size()
        if backlog == 0 and counted >= received:
            return
        assert loop.time() < deadline, f"inbox backlog {backlog}, received {counted}/{received}"
        await asyncio.sleep(0.1)


def spread(batches: Iterable[Batch]) -> set[str]:
    return {b.platform.channel for b in batches}


def order_keys(batches: Iterable[Batch]) -> set[str]:
    return {f"{b.platform.channel}:{b.platform.order_id(doc)}" for b in batches for doc in b.docs}


async def test_thousand_orders_from_all_channels_are_stored_once(stack: Stack) -> None:
    batches, late_keys = first_pushes(stack.platforms, datetime.now(UTC))
    valid = [b for b in batches if b.problem is None]
    broken = [b for b in batches if b.problem is not None]
    again_now = valid[::23][:38] + broken[:2]
    again_later, status_changes = valid[3::29][:30], valid[17::29][:30]
    channels = {p.channel for p in stack.platforms}
    assert len(order_keys(batches)) == ORDERS and len(broken) == MALFORMED
    assert len(again_now) + len(again_later) + len(status_changes) == 100
    assert spread(broken) == spread(again_now) == spread(again_later) == spread(
        status_changes) == channels
    expected = Expected(late_keys)

    # The platforms push every order once; 40 pushes are delivered twice in a row.
    first: list[Delivery] = []
    for batch in batches:
        first.append(batch.deliver())
        expected.deliver(first[-1], batch.problem)
        if batch in again_now:
            first.append(batch.deliver())
            expected.deliver(first[-1], batch.problem)
    assert set(await push_all(stack.base, first)) == {200}
    await drained(stack, expected.received)

    # Later: 30 pushes are delivered again as they were; 30 others carry a status change.
    later: list[Delivery] = []
    moved_to: dict[str, str] = {}
    for repeat, changed in zip(again_later, status_changes, strict=True):
        later.append(repeat.deliver())
        expected.deliver(later[-1])
        advanced = [changed.platform.advanced(doc) for doc in changed.docs]
        later.append(changed.platform.deliver([doc for doc, _ in advanced], 2))
        expected.deliver(later[-1])
        moved_to |= {key: state for key, (_, state) in zip(later[-1].keys, advanced, strict=True)}
    assert set(await push_all(stack.base, later)) == {200}
    await drained(stack, expected.received)

    async with stack.engine.connect() as conn:
        stored = {str(key): str(status) for key, status in await conn.execute(text(
            "SELECT channel || ':' || channel_order_id, status FROM orders"))}
        ingested = Counter({str(key): int(n) for key, n in await conn.execute(text(
            "SELECT order_key, count(*) FROM order_events WHERE kind = 'ingested' "
            "GROUP BY order_key"))})
        letters = (await conn.execute(text(
            "SELECT raw, source, reason, meta FROM dead_letters"))).all()
        counters = {row[0]: Tally(*map(int, row[1:])) for row in await conn.execute(text(
            "SELECT channel, sum(received), sum(stored), sum(duplicates), sum(dead_lettered), "
            "sum(late) FROM channel_counters GROUP BY channel"))}

    # Exactly the distinct valid orders, each stored once; the status changes show.
    assert len(stored) == ORDERS - MALFORMED
    assert set(stored) == order_keys(valid)
    assert ingested == Counter(dict.fromkeys(order_keys(valid), 1))
    assert {key: stored[key] for key in moved_to} == moved_to

    # Each malformed push that reached a worker is one dead letter naming the problem.
    by_body = {bytes(raw): (source, reason, _json(meta)) for raw, source, reason, meta in letters}
    assert len(by_body) == len(letters)
    assert set(by_body) == set(expected.problems)
    for body, (delivery, problem) in expected.problems.items():
        source, reason, meta = by_body[body]
        assert source == f"webhook:{delivery.channel}"
        assert problem in reason, (delivery.channel, reason)
        assert meta["shop"] == delivery.shop

    # The counters account for every order a worker received, per channel.
    assert set(counters) == channels
    for channel, tally in counters.items():
        assert tally.received == tally.stored + tally.duplicates + tally.dead_lettered, channel
        assert tally == expected.counters[channel], channel
    totals = total(counters.values())
    assert totals == total(expected.counters.values())
    assert totals.dead_lettered == len(expected.problems) >= MALFORMED
    assert totals.late == len(late_keys & order_keys(valid))
    # Only re-signed repeats (new bytes) reach a worker as duplicates; identical ones are dropped.
    assert {channel for channel, t in counters.items() if t.duplicates} == {"jd", "wechat_shop"}
    assert totals.stored == ORDERS - MALFORMED + len(order_keys(status_changes))


def total(tallies: Iterable[Tally]) -> Tally:
    result = Tally()
    for tally in tallies:
        for name in (f.name for f in fields(Tally)):
            setattr(result, name, getattr(result, name) + getattr(tally, name))
    return result


def _json(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value)
