"""Kill test: an `orderbot worker` process is SIGKILLed mid-stream; a new one reclaims the
unacknowledged work (XAUTOCLAIM) and every queued order is stored exactly once."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.inbox.wiring import AnyInbox, InboxSettings, open_inbox
from tests.conftest import fresh_engine
from tests.e2e.pushes import YOUZAN_SHOP, envelope, youzan_order, youzan_push
from tests.e2e.service import env_for, start
from tests.redis_support import forget_keys

ORDERS = 1500


async def count(engine: object, sql: str) -> int:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return int((await conn.execute(text(sql))).scalar_one())


async def _stop_holding_work(victim: subprocess.Popen[str], inbox: AnyInbox) -> None:
    """Freeze the worker (SIGSTOP) at a moment it holds read-but-unacknowledged messages, so
    the SIGKILL that follows leaves work for XAUTOCLAIM: between batches (acked, lingering
    for the next read) it holds none, and a kill there would exercise nothing."""
    for _ in range(500):
        victim.send_signal(signal.SIGSTOP)
        if await inbox.pending_count() > 0:
            return
        victim.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.003)
    raise AssertionError("the worker never held unacknowledged work")


async def test_killed_worker_loses_nothing_and_stores_nothing_twice(
    pg_url: str, tmp_path: Path
) -> None:
    engine, prefix = await fresh_engine(pg_url), f"kill-{uuid.uuid4().hex[:8]}"
    try:
        await _kill_and_recover(engine, prefix, pg_url, tmp_path)
    finally:
        await engine.dispose()
        await forget_keys(f"{prefix}:*")  # the inbox's stream and its dedup keys


async def _kill_and_recover(engine: AsyncEngine, prefix: str, pg_url: str,
                            tmp_path: Path) -> None:
    settings = InboxSettings(backend="redis", key_prefix=f"{prefix}:inbox")
    (tmp_path / "config.toml").write_text(YOUZAN_SHOP, encoding="utf-8")
    env = env_for(pg_url, ORDERBOT_INBOX__BACKEND="redis", ORDERBOT_INBOX__STREAM_PREFIX=prefix,
                  ORDERBOT_INBOX__BATCH="25", ORDERBOT_INBOX__WORKERS="1",
                  ORDERBOT_INBOX__RECLAIM_IDLE_S="1")
    async with open_inbox(settings) as inbox:
        for n in range(ORDERS):
            assert await inbox.put(envelope(youzan_push(youzan_order(f"K{n:05d}"))))
        victim = start("worker", env=env, cwd=tmp_path)
        while await count(engine, "SELECT count(*) FROM orders") < ORDERS // 5:
            assert victim.poll() is None, victim.communicate()[1]
            await asyncio.sleep(0.02)
        await _stop_holding_work(victim, inbox)
        victim.send_signal(signal.SIGKILL)
        victim.communicate(timeout=10)
        stored_at_kill = await count(engine, "SELECT count(*) FROM orders")
        in_flight = await inbox.pending_count()
        assert stored_at_kill < ORDERS and in_flight > 0  # killed mid-stream, work pending

        survivor = start("worker", env=env, cwd=tmp_path)
        try:
            for _ in range(600):
                if await count(engine, "SELECT count(*) FROM orders") == ORDERS \
                        and await inbox.size() == 0:
                    break
                await asyncio.sleep(0.05)
        finally:
            survivor.send_signal(signal.SIGINT)
            _, errors = survivor.communicate(timeout=10)
            assert survivor.returncode == 0, errors
        assert await inbox.size() == 0
    assert await count(engine, "SELECT count(*) FROM orders") == ORDERS
    assert await count(engine, "SELECT count(DISTINCT channel_order_id) FROM orders") == ORDERS
    # exactly once in effect: one "ingested" event per order, never a second
    assert await count(engine, "SELECT count(*) FROM order_events WHERE kind = 'ingested'") \
        == ORDERS
    assert await count(engine, "SELECT count(*) FROM dead_letters") == 0
    received = await count(engine, "SELECT coalesce(sum(received), 0) FROM channel_counters")
    duplicates = await count(engine, "SELECT coalesce(sum(duplicates), 0) FROM channel_counters")
    assert received - duplicates == ORDERS  # redelivered batches are counted as duplicates
