"""Customers answered by an ``orderbot worker`` process, in production shape: PostgreSQL, the
Redis Streams inbox, one ``orderbot run`` with no inbox workers of its own (``inbox.workers =
0``) and one ``orderbot worker`` process that takes every chat message.

Transcript: an order is shipped and its parcel is out for delivery; a web chat customer types
its number with the phone's last 4 and gets the masked status from the customer desk, built
in the worker process, not the "订单助手" fallback a process without the desk gives.
"""

from __future__ import annotations

import signal
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.app import build_worker_app
from bot.chat import CHAT
from bot.config import Config, DatabaseConfig, InboxConfig
from bot.wecom.settings import WeComSettings
from bot.workers import utcnow
from core.customer_replies import NEED_PROOF
from core.people import Directory
from core.states import OrderState
from core.tracking import Parcel, TraceLine, TrackingState, TrackReport
from handlers.chat_deps import ChatDeps
from handlers.track_parcel import apply_report, register_parcel
from handlers.tracking_ports import TrackingDeps
from integrations.logistics.failover import ProviderChain
from storage.customers import SqlCustomerReader
from storage.db import create_engine, session_factory
from storage.rate_limit import MemoryRateLimiter
from storage.uow import SqlUnitOfWork
from tests.conftest import fresh_engine
from tests.e2e.chat_store import ingest
from tests.e2e.chat_support import Page
from tests.e2e.service import env_for, free_port, start, wait_healthy
from tests.factories import make_order
from tests.redis_support import REDIS_URL, forget_keys

ORDER = make_order(73, status=OrderState.LABEL_PRINTED)  # receiver 13800000073
NUMBER = "SF1400000073"


async def _seed(url: str) -> None:
    """The order, and its parcel out for delivery (as a provider's report would leave it)."""
    await (await fresh_engine(url)).dispose()  # the shared PostgreSQL database, emptied
    await ingest(url, ORDER)
    engine = create_engine(url)
    sessions = session_factory(engine)
    chat = ChatDeps(Directory(()), lambda: SqlUnitOfWork(sessions))
    deps = TrackingDeps(lambda: SqlUnitOfWork(sessions), ProviderChain([]),
                        MemoryRateLimiter(), chat, SqlCustomerReader(engine))
    now = utcnow()
    try:
        await register_parcel(deps, Parcel("SF", NUMBER, ORDER.key, ORDER.channel, "wms",
                                           now - timedelta(hours=20)), now=now)
        lines = tuple(TraceLine(now - timedelta(hours=h), text) for h, text in (
            (18, "【杭州萧山】顺丰速运 已收取快件"), (2, "快件交给王五，正在派送途中")))
        await apply_report(deps, TrackReport("kuaidi100", "SF", NUMBER,
                                             TrackingState.OUT_FOR_DELIVERY, "5", lines),
                           now=now)
    finally:
        await engine.dispose()


def _stop(process: subprocess.Popen[str]) -> str:
    """SIGINT, then what it wrote to stderr; a process that does not stop is killed."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    try:
        return process.communicate(timeout=15)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[1]


@asynccontextmanager
async def run_and_worker(pg_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """``orderbot run`` (no inbox workers) and one ``orderbot worker``; the run's base URL."""
    prefix, port = f"desk-{uuid.uuid4().hex[:8]}", free_port()
    env = env_for(pg_url, ORDERBOT_INBOX__BACKEND="redis", ORDERBOT_INBOX__REDIS_URL=REDIS_URL,
                  ORDERBOT_INBOX__STREAM_PREFIX=prefix, ORDERBOT_SERVER__PORT=str(port),
                  ORDERBOT_TRACKING__FRESH_S="86400")  # the stored trace; no provider here
    run = start("run", env=env | {"ORDERBOT_INBOX__WORKERS": "0"}, cwd=tmp_path)
    worker = start("worker", env=env | {"ORDERBOT_INBOX__WORKERS": "1"}, cwd=tmp_path)
    base = f"http://127.0.0.1:{port}"
    try:
        assert await wait_healthy(port) is not None, _stop(run)
        yield base
        assert worker.poll() is None, worker.communicate()[1]
    finally:
        worker_errors, run_errors = _stop(worker), _stop(run)
        await forget_keys(f"{prefix}:*")
    assert worker.returncode == 0, worker_errors
    assert run.returncode == 0, run_errors
    assert "customer desk ready" in worker_errors  # the worker built its own desk


async def test_a_worker_process_answers_a_web_chat_customer(pg_url: str,
                                                             tmp_path: Path) -> None:
    await _seed(pg_url)
    async with run_and_worker(pg_url, tmp_path) as base, aiohttp.ClientSession() as http:
        customer = await Page(http, base, "customer").open()
        assert await customer.say(f"查单 {ORDER.channel_order_id}") == 202
        assert (await customer.next_of("text", within=30))["payload"]["text"] == NEED_PROOF
        assert await customer.say(f"查单 {ORDER.channel_order_id} 尾号0073") == 202
        answer = (await customer.next_of("text", within=30))["payload"]["text"]
    assert f"订单 {ORDER.channel_order_id}：派送中" in answer
    assert "138****0073" in answer and ORDER.receiver.phone not in answer
    assert "快件交给王五，正在派送途中" in answer


async def test_worker_chat_deps_answer_customers_where_run_does(sqlite_url: str) -> None:
    """Without processes: the worker app's chat deps carry the desk and the same customer
    platforms as ``orderbot run`` (微信客服 customers included when kf is on)."""
    wecom = WeComSettings(enabled=True, corp_id="ww1", agent_id=1, secret="s", token="t",
                          encoding_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
                          api_base="http://127.0.0.1:9", kf_enabled=True,
                          kf_open_kfids=("wkAAA",))
    config = Config(database=DatabaseConfig(url=sqlite_url), wecom=wecom,
                    inbox=InboxConfig(backend="sql", workers=0))
    runner = web.AppRunner(build_worker_app(config), handle_signals=False)
    await runner.setup()
    try:
        chat = runner.app[CHAT]
        assert chat.customer_desk is not None
        assert chat.customer_platforms == frozenset({"webchat", "wecom_kf"})
        assert chat.tasks == config.tasks.settings()  # later wiring keeps the desk
    finally:
        await runner.cleanup()
