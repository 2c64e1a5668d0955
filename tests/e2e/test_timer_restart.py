"""Restart test (issue 5, SLA timers): timers set, the service SIGKILLed with timers pending
and a batch mid-flight, restarted: every timer still fires, once in effect, none lost.

The timers are real A-class escalation timers: orders are stored, then anomalies
(ADDRESS_MISSING) are opened by the ``open_anomalies`` use case, which writes each anomaly's
SLA timer in its own transaction (routing from the same ``config.toml`` the service reads,
SLA shortened to a few seconds). The service is the real ``orderbot`` command in child
processes: ``orderbot run`` on SQLite (SQL queue), and ``orderbot run`` + ``orderbot worker``
on PostgreSQL with the Redis queue. Firing a timer is the escalation: the anomaly moves to
level 1, the order gets one ``anomaly_escalated`` event, the supervisor a card.

Transcript: 200 anomalies opened in 5 waves while the service runs (deadlines spread over
the seconds the opening takes) -> the first waves fire, in batches of 10, while the last are
opened -> SIGKILL at a moment a claimed batch is uncommitted (SQL: rows with a live
``claimed_until``; Redis: leased members of ``:processing`` whose rows still exist) -> 40
more anomalies opened while nothing runs -> restart (on PostgreSQL only ``orderbot run``: it
also takes over what the dead worker held) -> the mid-flight batch fires when its lease
(2 s) runs out, the rest when due -> each of the 240 anomalies escalated exactly once,
one event and one supervisor card each, no timer left, nothing dead-lettered.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.anomaly_wiring import anomaly_settings
from bot.config import Config, load_config
from bot.people_config import build_directory
from core.anomalies import AnomalyCode
from core.ingest import Arrival
from core.order import Receiver
from handlers.chat_deps import ChatDeps
from handlers.ingest_order import IngestOrders, ingest_orders
from handlers.open_anomaly import OpenAnomaly, open_anomalies
from storage.db import session_factory
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.e2e.service import env_for, free_port, orderbot, start, wait_healthy
from tests.factories import make_order
from tests.redis_support import REDIS_URL, forget_keys

WAVES, PER_WAVE, WHILE_DOWN = 5, 40, 40
TOTAL = WAVES * PER_WAVE + WHILE_DOWN
SLA_S = 3.0
CONFIG_TOML = f"""
[routing]
stalled_scan_s = 0
rules = [{{ match = "A", sla_s = {SLA_S}, chain = ["supervisor"] }}]

[timers]
lease_s = 2.0
batch = 10

[[people]]
id = "zhangsan"
name = "张三"
roles = ["agent"]

[[people]]
id = "lisi"
name = "李四"
roles = ["supervisor"]
"""


@dataclass
class Stack:
    """The database the service uses, the use cases on it, and how to find a batch in
    flight (claimed, not yet committed) in its timer queue."""

    engine: AsyncEngine
    reader: AsyncEngine  # SQLite: without BEGIN IMMEDIATE, so a look never waits for a writer
    config: Config
    in_flight: Callable[[], Awaitable[int]]

    def deps(self) -> ChatDeps:
        sessions = session_factory(self.engine)
        return ChatDeps(build_directory(self.config.people),
                        lambda: SqlUnitOfWork(sessions),
                        anomalies=anomaly_settings(self.config))

    async def scalar(self, sql: str, **params: object) -> int:
        async with self.reader.connect() as conn:
            return int((await conn.execute(text(sql), params)).scalar_one())

    async def escalated(self) -> int:
        return await self.scalar("SELECT count(*) FROM anomalies WHERE level = 1")

    async def pending(self) -> int:
        return await self.scalar("SELECT count(*) FROM timers WHERE key LIKE 'escalate:%'")


def missing_address(n: int) -> object:
    return make_order(n, receiver=Receiver(name="王五", phone="13812345678", province="浙江省",
                                           city="杭州市", district="西湖区"))


async def store_orders(stack: Stack) -> list[str]:
    orders = [missing_address(n) for n in range(1, TOTAL + 1)]
    sessions = session_factory(stack.engine)
    await ingest_orders(IngestOrders([Arrival(o, "test") for o in orders],  # type: ignore[arg-type]
                                     datetime.now(UTC)), lambda: SqlUnitOfWork(sessions))
    return [o.key for o in orders]  # type: ignore[attr-defined]


async def open_on(stack: Stack, keys: list[str]) -> None:
    """The use case sets each anomaly's escalation timer, due SLA_S from now."""
    opened = await open_anomalies([OpenAnomaly(k, AnomalyCode.ADDRESS_MISSING, "缺少详细地址")
                                   for k in keys], stack.deps(), now=datetime.now(UTC))
    assert len(opened) == len(keys)


async def kill_mid_flight(stack: Stack, processes: list[subprocess.Popen[str]]) -> None:
    """SIGKILL every process while a claimed batch is in flight, some timers already fired.
    The processes are frozen (SIGSTOP) before the batch is looked at again, so the batch
    seen is the one the kill interrupts (not one that committed in between)."""
    for _ in range(3000):  # 30 s at most
        for process in processes:
            assert process.poll() is None, process.communicate()[1][-3000:]
        if await stack.escalated() > 0 and await stack.in_flight() > 0:
            for process in processes:
                process.send_signal(signal.SIGSTOP)
            if await stack.in_flight() > 0:
                break
            for process in processes:
                process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.01)
    for process in processes:
        process.send_signal(signal.SIGKILL)
    for process in processes:
        process.communicate(timeout=10)
        assert process.returncode == -signal.SIGKILL


async def stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        process.send_signal(signal.SIGINT)
    for process in processes:
        _, errors = process.communicate(timeout=15)
        assert process.returncode == 0, errors[-3000:]


async def restart_scenario(stack: Stack, launch: Callable[[bool], Awaitable[
        list[subprocess.Popen[str]]]]) -> None:
    """``launch(first)`` starts the service's process(es): all of them first, after the
    kill those that are restarted."""
    keys = await store_orders(stack)
    processes = await launch(True)
    try:
        killer = asyncio.create_task(kill_mid_flight(stack, processes))
        for wave in range(WAVES):  # the first waves fire while the last ones are opened
            await open_on(stack, keys[wave * PER_WAVE:(wave + 1) * PER_WAVE])
            await asyncio.sleep(0.2)
        await killer
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    fired, pending, in_flight = (await stack.escalated(), await stack.pending(),
                                 await stack.in_flight())
    assert 0 < fired < WAVES * PER_WAVE, "killed too early or too late"
    assert pending > 0 and in_flight > 0, "no timers pending or none mid-flight at the kill"
    await open_on(stack, keys[WAVES * PER_WAVE:])  # set while the service is down

    processes = await launch(False)
    try:
        for _ in range(400):  # 40 s at most
            if await stack.escalated() == TOTAL and await stack.pending() == 0:
                break
            await asyncio.sleep(0.1)
    finally:
        await stop(processes)
    assert (await stack.escalated(), await stack.pending()) == (TOTAL, 0)
    per_order = await stack.scalar(
        "SELECT count(DISTINCT order_key) FROM order_events WHERE kind = 'anomaly_escalated'")
    events = await stack.scalar(
        "SELECT count(*) FROM order_events WHERE kind = 'anomaly_escalated'")
    assert per_order == events == TOTAL  # once each: none lost, none twice
    cards = await stack.scalar("SELECT count(*) FROM cards WHERE kind = 'anomaly'")
    assert cards == 2 * TOTAL  # the agent's card and the supervisor's, once each
    assert await stack.scalar("SELECT count(*) FROM dead_letters") == 0


def write_config(folder: Path) -> Config:
    (folder / "config.toml").write_text(CONFIG_TOML, encoding="utf-8")
    return load_config(folder / "config.toml", environ={})


async def test_sqlite_service_killed_and_restarted_fires_every_timer_once(
        sqlite_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    engine, reader = await fresh_engine(sqlite_url), create_async_engine(sqlite_url)
    stack = Stack(engine, reader, config, lambda: stack.scalar(
        "SELECT count(*) FROM timers WHERE claimed_until IS NOT NULL"))
    env = env_for(sqlite_url, ORDERBOT_INBOX__BACKEND="sql")

    async def launch(first: bool) -> list[subprocess.Popen[str]]:
        port = free_port()
        process = start("run", env=env | {"ORDERBOT_SERVER__PORT": str(port)}, cwd=tmp_path)
        assert await wait_healthy(port) is not None, process.communicate()[1][-3000:]
        return [process]

    try:
        await restart_scenario(stack, launch)
    finally:
        await engine.dispose()
        await reader.dispose()


@asynccontextmanager
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


async def test_postgres_redis_service_and_worker_killed_and_restarted_fire_every_timer_once(
        pg_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    engine = await fresh_engine(pg_url)
    prefix = f"restart-{uuid.uuid4().hex[:8]}"
    env = env_for(pg_url, ORDERBOT_INBOX__BACKEND="redis", ORDERBOT_INBOX__STREAM_PREFIX=prefix,
                  ORDERBOT_INBOX__REDIS_URL=REDIS_URL)
    assert orderbot("db", "upgrade", env=env, cwd=tmp_path).returncode == 0
    async with redis_client() as redis:

        async def leased() -> int:
            members = [str(m) for m in await redis.zrange(f"{prefix}:timers:processing",
                                                          0, -1)]
            if not members:
                return 0
            return await stack.scalar("SELECT count(*) FROM timers WHERE key = ANY(:keys)",
                                      keys=members)

        stack = Stack(engine, engine, config, leased)

        async def launch(first: bool) -> list[subprocess.Popen[str]]:
            """Service and worker; after the kill only the service: it takes over what the
            dead worker held as well."""
            port = free_port()
            service = start("run", env=env | {"ORDERBOT_SERVER__PORT": str(port)},
                            cwd=tmp_path)
            started = [service, start("worker", env=env, cwd=tmp_path)] if first else [service]
            assert await wait_healthy(port) is not None, service.communicate()[1][-3000:]
            return started

        try:
            await restart_scenario(stack, launch)
        finally:
            await forget_keys(f"{prefix}*")
            await engine.dispose()
