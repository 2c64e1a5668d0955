"""Polling one shop, with a fake clock and a fake platform ``fetch_since``.

Transcript style: the platform holds orders with modification times; each run asks for a
window; we check the window asked for, what was queued and where the cursor stands after.
Cursors live in a real (SQLite) database, the inbox and the locks are the in-process twins.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import ShopConfig
from bot.polling import PollDeps, ShopPoller, add_poll_jobs
from core.payloads import from_envelope
from integrations.channels.base import ChannelAuthError, ShopCredentials
from integrations.http import UpstreamError
from storage.db import create_engine
from storage.inbox.memory import MemoryInbox
from storage.locks import MemoryLocks
from storage.poll_cursors import SqlPollCursors

T0 = datetime(2026, 3, 1, 10, 0, 0, 250_000, tzinfo=UTC)
SHOP = ShopConfig(channel="taobao", shop_id="tb", app_key="key", app_secret="top-secret-value",
                  access_token="session-token-value", poll=True, poll_overlap_s=120)


class FakePlatform:
    """The outside world: orders by modification time, ``fetch_since`` in pages of two."""

    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.windows: list[tuple[datetime, datetime]] = []
        self.fail_after_pages: int | None = None
        self.error: Exception = UpstreamError("https://fake/router/rest: HTTP 503")

    def add(self, tid: int, modified: datetime) -> None:
        self.orders.append({"tid": tid, "modified": modified.isoformat(), "payment": "12.30"})

    async def fetch_since(self, session: object, shop: ShopCredentials, start: datetime,
                          end: datetime) -> AsyncIterator[list[dict[str, Any]]]:
        self.windows.append((start, end))
        hits = [o for o in self.orders
                if start <= datetime.fromisoformat(o["modified"]) <= end]
        for number, first in enumerate(range(0, len(hits), 2)):
            if self.fail_after_pages is not None and number >= self.fail_after_pages:
                raise self.error
            yield hits[first:first + 2]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def cursors(sqlite_url: str) -> AsyncIterator[SqlPollCursors]:
    engine = create_engine(sqlite_url)
    yield SqlPollCursors(engine)
    await engine.dispose()


@pytest.fixture
def platform() -> FakePlatform:
    return FakePlatform()


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def inbox() -> MemoryInbox:
    return MemoryInbox()


@pytest.fixture
def locks() -> MemoryLocks:
    return MemoryLocks()


@pytest.fixture
def poller(platform: FakePlatform, inbox: MemoryInbox, cursors: SqlPollCursors,
           locks: MemoryLocks, clock: Clock) -> ShopPoller:
    deps = PollDeps(lambda: None, inbox, cursors, locks, clock)  # type: ignore[arg-type,return-value]
    return ShopPoller(SHOP, platform.fetch_since, deps)


async def queued_tids(inbox: MemoryInbox) -> list[int]:
    envelopes = await inbox.take("test", 1000, 0)
    await inbox.ack(envelopes)
    return [json.loads(from_envelope(e.payload).body)["tid"] for e in envelopes]


async def test_first_run_looks_back_one_day_and_stores_the_cursor(
        poller: ShopPoller, platform: FakePlatform, inbox: MemoryInbox,
        cursors: SqlPollCursors) -> None:
    platform.add(1, T0 - timedelta(hours=23))
    platform.add(2, T0 - timedelta(days=2))  # older than the first look-back
    result = await poller.run()
    assert platform.windows == [(T0.replace(microsecond=0) - timedelta(days=1), T0)]
    assert (result.orders, result.queued, result.error) == (1, 1, None)
    assert await queued_tids(inbox) == [1]
    cursor = await cursors.get("taobao", "tb")
    assert cursor is not None
    assert (cursor.last_end, cursor.last_run_at, cursor.last_error) == (T0, T0, None)


async def test_next_window_starts_at_last_end_minus_overlap(
        poller: ShopPoller, platform: FakePlatform, inbox: MemoryInbox, clock: Clock) -> None:
    platform.add(1, T0 - timedelta(seconds=30))  # inside the overlap of the next run
    await poller.run()
    clock.now = T0 + timedelta(minutes=5)
    platform.add(2, T0 + timedelta(minutes=1))
    result = await poller.run()
    start = (T0 - timedelta(seconds=120)).replace(microsecond=0)
    assert platform.windows[-1] == (start, clock.now)
    assert (result.orders, result.queued) == (2, 1)  # order 1 again: seen, a no-op
    assert await queued_tids(inbox) == [1, 2]


async def test_a_changed_order_in_the_overlap_is_queued_again(
        poller: ShopPoller, platform: FakePlatform, inbox: MemoryInbox, clock: Clock) -> None:
    platform.add(1, T0 - timedelta(seconds=30))
    await poller.run()
    platform.orders[0]["payment"] = "10.00"
    clock.now = T0 + timedelta(minutes=5)
    assert (await poller.run()).queued == 1
    assert await queued_tids(inbox) == [1, 1]


async def test_error_keeps_the_cursor_and_the_next_run_retries_the_window(
        poller: ShopPoller, platform: FakePlatform, inbox: MemoryInbox,
        cursors: SqlPollCursors, clock: Clock) -> None:
    await poller.run()  # cursor at T0
    for tid in range(10, 15):
        platform.add(tid, T0 + timedelta(minutes=1))
    platform.fail_after_pages = 1
    clock.now = T0 + timedelta(minutes=5)
    failed = await poller.run()
    assert failed.error is not None and "503" in failed.error
    cursor = await cursors.get("taobao", "tb")
    assert cursor is not None
    assert (cursor.last_end, cursor.last_run_at) == (T0, clock.now)
    assert cursor.last_error is not None and "UpstreamError" in cursor.last_error
    platform.fail_after_pages = None
    clock.now = T0 + timedelta(minutes=10)
    retried = await poller.run()
    assert platform.windows[-1][0] == platform.windows[-2][0]  # the same start: no gap
    assert (retried.orders, retried.queued) == (5, 3)  # the first page was queued already
    assert sorted(await queued_tids(inbox)) == [10, 11, 12, 13, 14]
    cursor = await cursors.get("taobao", "tb")
    assert cursor is not None and (cursor.last_end, cursor.last_error) == (clock.now, None)


async def test_a_failed_first_run_is_retried_as_a_first_run(
        poller: ShopPoller, platform: FakePlatform, cursors: SqlPollCursors,
        clock: Clock) -> None:
    platform.add(1, T0 - timedelta(hours=1))
    platform.fail_after_pages = 0
    await poller.run()
    cursor = await cursors.get("taobao", "tb")
    assert cursor is not None and cursor.last_end is None and cursor.last_error
    platform.fail_after_pages = None
    clock.now = T0 + timedelta(minutes=5)
    await poller.run()
    assert platform.windows[-1][0] == (clock.now - timedelta(days=1)).replace(microsecond=0)


async def test_auth_error_names_the_shop_keeps_the_cursor_and_hides_secrets(
        poller: ShopPoller, platform: FakePlatform, cursors: SqlPollCursors, clock: Clock,
        caplog: pytest.LogCaptureFixture) -> None:
    await poller.run()
    platform.add(1, T0 + timedelta(minutes=1))
    platform.fail_after_pages = 0
    platform.error = ChannelAuthError("TOP error 27 Invalid session session-token-value")
    clock.now = T0 + timedelta(minutes=5)
    with caplog.at_level(logging.ERROR, logger="orderbot.polling"):
        await poller.run()
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "re-authorise" in record.getMessage() and "'tb'" in record.getMessage()
    assert "session-token-value" not in caplog.text
    cursor = await cursors.get("taobao", "tb")
    assert cursor is not None and cursor.last_end == T0
    assert cursor.last_error is not None and "session-token-value" not in cursor.last_error


async def test_a_shop_locked_elsewhere_is_skipped(
        poller: ShopPoller, platform: FakePlatform, locks: MemoryLocks,
        cursors: SqlPollCursors) -> None:
    other = locks.lock("poll:taobao:tb", 60_000)
    assert await other.acquire()
    result = await poller.run()
    assert result.skipped and platform.windows == []
    assert await cursors.get("taobao", "tb") is None
    await other.release()
    assert not (await poller.run()).skipped


async def test_ids_keep_full_precision_in_queued_bodies(
        poller: ShopPoller, platform: FakePlatform, inbox: MemoryInbox) -> None:
    platform.add(3849562017384920183, T0 - timedelta(hours=1))  # > 2**53
    platform.orders[0]["receiver_name"] = "张三"
    platform.orders[0]["price"] = 99.9
    await poller.run()
    [envelope] = await inbox.take("test", 10, 0)
    payload = from_envelope(envelope.payload)
    assert b"3849562017384920183" in payload.body and "张三".encode() in payload.body
    assert b"99.9," in payload.body or b"99.9}" in payload.body
    assert (payload.source, payload.shop, payload.content_type) == ("poll", "tb",
                                                                     "application/json")
    assert envelope.dedup_key == f"poll:taobao:tb:{payload.digest}"


def test_one_job_per_polled_shop_with_an_order_api(caplog: pytest.LogCaptureFixture) -> None:
    shops = [SHOP, ShopConfig(channel="jd", shop_id="jd1", poll=True, poll_interval_s=60),
             ShopConfig(channel="youzan", shop_id="yz"),  # poll = false
             ShopConfig(channel="pos", shop_id="store", poll=True)]  # no order API
    scheduler = AsyncIOScheduler(timezone="UTC")
    deps = PollDeps(lambda: None, MemoryInbox(), None, MemoryLocks(), Clock(T0))  # type: ignore[arg-type,return-value]
    with caplog.at_level(logging.WARNING, logger="orderbot.polling"):
        pollers = add_poll_jobs(scheduler, shops=shops, deps=deps)
    assert sorted(pollers) == ["poll:jd:jd1", "poll:taobao:tb"]
    assert "pos" in caplog.text
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert sorted(jobs) == sorted(pollers)
    job = jobs["poll:jd:jd1"]
    assert (job.max_instances, job.coalesce) == (1, True)
    assert job.trigger.interval == timedelta(seconds=60)
    assert job.next_run_time <= datetime.now(UTC) + timedelta(seconds=60)
