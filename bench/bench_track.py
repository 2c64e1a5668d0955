"""Customer query latency: ``GET /api/track`` against the running service, 200 concurrent.

One `orderbot run` (web only, no workers) on PostgreSQL with 2,000 shipped orders, each with a
parcel and 4 scans. 200 concurrent clients (an aiohttp load client in this process, one
connection each, closed loop: a client sends its next query as soon as the last is answered)
ask for random orders by tracking number with the right last 4 digits of the phone, each from
its own address (``X-Forwarded-For`` from a trusted proxy, so the per-sender limit applies per
client as in production). Traces are fresh (``fresh_s`` = 1 day), so no provider is called:
the figure is the service's own path (rate limit, lookup, access decision, binding check,
rendering). Runs 5 s of warm-up, then 15 s measured. Target: ``customer_query_p99_ms`` < 50.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import aiohttp

from bench.common import Figure, postgres_database
from bot.workers import utcnow
from core.people import Directory
from core.states import OrderState
from core.tracking import Parcel, TraceLine, TrackingState, TrackReport
from handlers.chat_deps import ChatDeps
from handlers.track_parcel import apply_report, register_parcel
from handlers.tracking_ports import TrackingDeps
from storage.db import create_engine, session_factory
from storage.rate_limit import MemoryRateLimiter
from storage.uow import SqlUnitOfWork
from tests.e2e.chat_store import ingest
from tests.e2e.service import free_port
from tests.factories import make_order

ORDERS = 2_000
CLIENTS = 200
WARM_S, MEASURE_S = 5.0, 15.0


class _NoProviders:
    async def query(self, *args: object) -> TrackReport:
        raise AssertionError("the benchmark must not call providers")

    async def subscribe(self, *args: object) -> str | None:
        return None


async def _seed(url: str) -> None:
    orders = [make_order(n, status=OrderState.LABEL_PRINTED) for n in range(ORDERS)]
    for start in range(0, ORDERS, 500):
        await ingest(url, *orders[start:start + 500])
    engine = create_engine(url)
    sessions = session_factory(engine)
    chat = ChatDeps(Directory(()), lambda: SqlUnitOfWork(sessions))
    deps = TrackingDeps(lambda: SqlUnitOfWork(sessions), _NoProviders(), MemoryRateLimiter(),
                        chat)
    now = utcnow()
    try:
        for n, order in enumerate(orders):
            number = f"SF{1_500_000_000 + n}"
            await register_parcel(deps, Parcel("SF", number, order.key, order.channel, "wms",
                                               now - timedelta(hours=30)), now=now)
            lines = tuple(TraceLine(now - timedelta(hours=h), text) for h, text in (
                (28, "【杭州萧山】顺丰速运 已收取快件"), (20, "快件到达【杭州转运中心】"),
                (9, "快件到达【上海浦东集散中心】"), (2, "快件交给王五，正在派送途中")))
            await apply_report(deps, TrackReport("kuaidi100", "SF", number,
                                                 TrackingState.OUT_FOR_DELIVERY, "5", lines),
                               now=now)
    finally:
        await engine.dispose()


async def _client(session: aiohttp.ClientSession, base: str, ident: int, stop: float,
                  latencies: list[float], failures: list[int]) -> None:
    rng = random.Random(ident)
    while time.perf_counter() < stop:
        n = rng.randrange(ORDERS)
        params = {"q": f"SF{1_500_000_000 + n}", "last4": f"{n % 10_000:04d}"}
        started = time.perf_counter()
        client = f"10.{ident // 250}.{ident % 250}.{n % 250}"  # one address per customer
        async with session.get(f"{base}/api/track", params=params,
                               headers={"X-Forwarded-For": client}) as response:
            body = await response.json()
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200 or "138****" not in body["reply"]:
            failures.append(response.status)


async def _load(base: str, seconds: float) -> tuple[list[float], list[int]]:
    latencies: list[float] = []
    failures: list[int] = []
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        stop = time.perf_counter() + seconds
        await asyncio.gather(*(_client(session, base, i, stop, latencies, failures)
                               for i in range(CLIENTS)))
    return latencies, failures


async def _ready(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            try:
                async with session.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the service did not start")


async def run() -> list[Figure]:
    async with postgres_database("orderbot_bench_track") as url:
        await _seed(url)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERBOT_")} | {
            "ORDERBOT_DATABASE__URL": url, "ORDERBOT_SERVER__PORT": str(port),
            "ORDERBOT_INBOX__WORKERS": "0", "ORDERBOT_LOG__LEVEL": "WARNING",
            "ORDERBOT_TRACKING__FRESH_S": "86400", "ORDERBOT_TRACKING__QUERY_LIMIT": "100000",
            "ORDERBOT_TRACKING__PROOF_ATTEMPTS": "100000",
            "ORDERBOT_TRACKING__TRUSTED_PROXIES": "127.0.0.1"}
        with tempfile.TemporaryDirectory() as folder:
            server = subprocess.Popen(  # noqa: ASYNC220 (started once, before the load)
                [sys.executable, "-m", "bot.cli", "run"], cwd=folder, env=env,
                stdout=subprocess.DEVNULL)
            try:
                base = f"http://127.0.0.1:{port}"
                await _ready(base)
                await _load(base, WARM_S)
                latencies, failures = await _load(base, MEASURE_S)
            finally:
                server.terminate()
                server.wait(10)
    if failures:
        raise RuntimeError(f"{len(failures)} queries failed (statuses {set(failures)})")
    cuts = statistics.quantiles(latencies, n=100)
    print(f"# track: {len(latencies)} queries in {MEASURE_S:.0f} s "
          f"({len(latencies) / MEASURE_S:.0f}/s), p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms",
          file=sys.stderr)
    return [Figure("customer_query_p99_ms", round(cuts[98], 1), "ms"),
            Figure("customer_query_per_s", round(len(latencies) / MEASURE_S), "req/s")]
