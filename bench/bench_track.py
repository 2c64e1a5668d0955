"""Customer query latency: ``GET /api/track`` against the running service, 200 concurrent.

One `orderbot run` (web only, no inbox workers) in production shape: PostgreSQL with 2,000
shipped orders (each with a parcel and 4 scans) and Redis (the per-sender rate limits). 200
concurrent clients (an aiohttp load client in this process, one connection each, closed loop:
a client sends its next query as soon as the last is answered, so 200 requests are always in
flight), each query from its own customer address (``X-Forwarded-For`` from a trusted proxy:
the per-sender limits apply per customer as in production). The mix of what customers type:

* 40 % tracking number + the phone's right last 4 digits (``last4=``);
* 30 % "查单 <order number> 尾号<last 4>" in the text;
* 20 % the full receiver phone;
* 10 % an unknown tracking number with some last 4 (the neutral "no match" reply).

Every answer is checked (masked phone in a found order, the neutral reply for the unknown).
Traces are fresh (``fresh_s`` = 1 day), so no provider is called: the figure is the service's
own path (rate limit, lookup, access decision, rendering). 5 s of warm-up, then 15 s measured.

Figures: ``customer_query_p99_ms`` (target < 50), ``customer_query_per_s``, and
``customer_query_cpu_ms``: CPU seconds the service process spent per answered query (read
from /proc), which does not depend on how loaded the machine is; the PostgreSQL backends' CPU
per query, the load average and this load client's own CPU are printed beside them. With
200 requests always in flight, latency is at least 200 / throughput (Little's law): the p99
can only be under 50 ms when the service answers > 4,000 queries/s on the same 2 cores as
PostgreSQL, Redis and this load client.

So a second window, 15 s on the same 200 connections, is paced: each client asks at random
times, once a second on average (200 queries/s, open loop, latency counted from when each
query was due): ``customer_query_paced_p99_ms`` is what a customer waits when 200 customers
are connected and the service is not saturated.

A third window measures the floor: ``bench.track_floor`` (a bare aiohttp handler doing only
the same Redis script and the same lookup statement on plain asyncpg, no SQLAlchemy, no
access decision, no rendering) under the same closed loop, on the same database:
``customer_query_floor_p99_ms`` / ``customer_query_floor_per_s`` show how much of the
closed-loop latency any Python service pays here and how much is orderbot's own code.
"""

from __future__ import annotations

import asyncio
import functools
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import aiohttp
import asyncpg

from bench.common import PG_ADMIN, Figure, postgres_database
from bot.workers import utcnow
from core.customer_replies import NO_MATCH
from core.order import Order
from core.people import Directory
from core.states import OrderState
from core.tracking import Parcel, TraceLine, TrackingState, TrackReport
from handlers.chat_deps import ChatDeps
from handlers.track_parcel import apply_report, register_parcel
from handlers.tracking_ports import TrackingDeps
from storage.customers import SqlCustomerReader
from storage.db import create_engine, session_factory
from storage.rate_limit import MemoryRateLimiter
from storage.uow import SqlUnitOfWork
from tests.e2e.chat_store import ingest
from tests.e2e.service import free_port, wait_healthy
from tests.factories import make_order
from tests.redis_support import REDIS_URL, forget_keys

ORDERS = 2_000
CLIENTS = 200
WARM_S, MEASURE_S = 5.0, 15.0
PACED_RATE = 1.0  # queries a second per client in the paced window: 200/s in all
ROOT = Path(__file__).resolve().parent.parent  # bench.track_floor runs from here
MIX = (("tracking", 4), ("order", 3), ("phone", 2), ("unknown", 1))


class _NoProviders:
    async def query(self, *args: object) -> TrackReport:
        raise AssertionError("the benchmark must not call providers")

    async def subscribe(self, *args: object) -> str | None:
        return None


def _tracking_no(n: int) -> str:
    return f"SF{1_500_000_000 + n}"


async def _seed(url: str) -> None:
    orders = [_order(n) for n in range(ORDERS)]
    for start in range(0, ORDERS, 500):
        await ingest(url, *orders[start:start + 500])
    engine = create_engine(url)
    sessions = session_factory(engine)
    chat = ChatDeps(Directory(()), lambda: SqlUnitOfWork(sessions))
    deps = TrackingDeps(lambda: SqlUnitOfWork(sessions), _NoProviders(), MemoryRateLimiter(),
                        chat, SqlCustomerReader(engine))
    now = utcnow()
    try:
        for n, order in enumerate(orders):
            number = _tracking_no(n)
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


@functools.cache
def _order(n: int) -> Order:
    return make_order(n, status=OrderState.LABEL_PRINTED)


def _ask(rng: random.Random) -> tuple[str, dict[str, str], str]:
    """One customer's query: (kind, query parameters, what the reply must contain)."""
    kind = rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
    n = rng.randrange(ORDERS)
    order, last4 = _order(n), f"{n % 10_000:04d}"
    if kind == "tracking":
        return kind, {"q": _tracking_no(n), "last4": last4}, "138****"
    if kind == "order":
        return kind, {"q": f"查单 {order.channel_order_id} 尾号{last4}"}, "138****"
    if kind == "phone":
        return kind, {"q": order.receiver.phone or ""}, "138****"
    return kind, {"q": _tracking_no(ORDERS + n), "last4": last4}, NO_MATCH


async def _ask_once(session: aiohttp.ClientSession, base: str, ident: int,
                    rng: random.Random, failures: list[str], check: bool = True) -> None:
    kind, params, expected = _ask(rng)
    expected = expected if check else ""
    client = f"10.{ident // 250}.{ident % 250}.{rng.randrange(250)}"  # one per customer
    async with session.get(f"{base}/api/track", params=params,
                           headers={"X-Forwarded-For": client}) as response:
        body = await response.json()
    if response.status != 200 or expected not in body["reply"]:
        failures.append(f"{kind} {response.status}")


async def _client(session: aiohttp.ClientSession, base: str, ident: int, stop: float,
                  latencies: list[float], failures: list[str], check: bool = True) -> None:
    """Closed loop: the next query as soon as the last is answered."""
    rng = random.Random(ident)
    while time.perf_counter() < stop:
        started = time.perf_counter()
        await _ask_once(session, base, ident, rng, failures, check)
        latencies.append((time.perf_counter() - started) * 1000)


async def _paced_client(session: aiohttp.ClientSession, base: str, ident: int, stop: float,
                        latencies: list[float], failures: list[str]) -> None:
    """Open loop: queries due at random times (PACED_RATE a second on average); latency is
    counted from when a query was due, so a late answer also delays the next one's figure."""
    rng = random.Random(CLIENTS + ident)
    due = time.perf_counter() + rng.expovariate(PACED_RATE)
    while due < stop:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        await _ask_once(session, base, ident, rng, failures)
        latencies.append((time.perf_counter() - due) * 1000)
        due += rng.expovariate(PACED_RATE)


async def _load(session: aiohttp.ClientSession, base: str, seconds: float, *,
                paced: bool = False) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    failures: list[str] = []
    stop, client = time.perf_counter() + seconds, _paced_client if paced else _client
    await asyncio.gather(*(client(session, base, i, stop, latencies, failures)
                           for i in range(CLIENTS)))
    return latencies, failures


async def _floor(url: str, prefix: str) -> list[float]:
    """The closed-loop window again against ``bench.track_floor`` (the same I/O, none of
    the service's own code) on the same database: what any Python answer costs here."""
    port = free_port()
    floor = subprocess.Popen(  # noqa: ASYNC220 (started once, before the load)
        [sys.executable, "-m", "bench.track_floor", str(port), url, REDIS_URL, prefix],
        cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        if await wait_healthy(port) is None:
            raise RuntimeError("the floor server did not start")
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS)) as s:
            stop = time.perf_counter() + WARM_S
            await asyncio.gather(*(_client(s, base, i, stop, [], [], False)
                                   for i in range(CLIENTS)))
            latencies: list[float] = []
            failures: list[str] = []
            stop = time.perf_counter() + MEASURE_S
            await asyncio.gather(*(_client(s, base, i, stop, latencies, failures, False)
                                   for i in range(CLIENTS)))
    finally:
        floor.terminate()
        floor.wait(10)
    if failures:
        raise RuntimeError(f"{len(failures)} floor queries failed: {sorted(set(failures))}")
    return latencies


def _cpu_s(pids: Iterable[int]) -> dict[int, float]:
    """User + system CPU seconds of each live process (``/proc/PID/stat`` fields 14, 15)."""
    tick, found = os.sysconf("SC_CLK_TCK"), {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / tick
    return found


async def _backends(database: str) -> list[int]:
    conn = await asyncpg.connect(PG_ADMIN, timeout=5)
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def _measure(base: str, server: int, database: str
                   ) -> tuple[list[float], float, float, float, list[float]]:
    """After a warm-up on the same connections (a warm service, no connection set-up in the
    figure): latencies of the closed-loop window and the CPU seconds the service, the
    database and this load client spent in it; then the paced window's latencies."""
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(connector=connector) as session:
        await _load(session, base, WARM_S)
        before_pg = _cpu_s(await _backends(database))
        before, client = _cpu_s([server])[server], time.process_time()
        latencies, failures = await _load(session, base, MEASURE_S)
        client = time.process_time() - client
        service = _cpu_s([server])[server] - before
        after_pg = _cpu_s(await _backends(database))
        paced, paced_failures = await _load(session, base, MEASURE_S, paced=True)
    if failures or paced_failures:
        failed = failures + paced_failures
        raise RuntimeError(f"{len(failed)} queries failed: {sorted(set(failed))}")
    db = sum(cpu - before_pg.get(pid, 0.0) for pid, cpu in after_pg.items())
    return latencies, service, db, client, paced


async def run() -> list[Figure]:
    database, prefix = "orderbot_bench_track", f"bench-track-{uuid.uuid4().hex[:8]}"
    async with postgres_database(database) as url:
        await _seed(url)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERBOT_")} | {
            "ORDERBOT_DATABASE__URL": url, "ORDERBOT_SERVER__PORT": str(port),
            "ORDERBOT_INBOX__BACKEND": "redis", "ORDERBOT_INBOX__REDIS_URL": REDIS_URL,
            "ORDERBOT_INBOX__STREAM_PREFIX": prefix,
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
                if await wait_healthy(port) is None:
                    raise RuntimeError("the service did not start")
                latencies, service_cpu, db_cpu, client_cpu, paced = await _measure(
                    base, server.pid, database)
            finally:
                server.terminate()
                server.wait(10)
        try:
            floor = await _floor(url, prefix)
        finally:
            await forget_keys(f"{prefix}:*")
    count, cuts = len(latencies), statistics.quantiles(latencies, n=100)
    paced_cuts = statistics.quantiles(paced, n=100)
    print(f"# track: closed loop {count} queries in {MEASURE_S:.0f} s ({count / MEASURE_S:.0f}"
          f"/s), p50 {cuts[49]:.1f} ms, p99 {cuts[98]:.1f} ms; CPU per query: service "
          f"{service_cpu / count * 1000:.2f} ms, PostgreSQL {db_cpu / count * 1000:.2f} ms, "
          f"load client {client_cpu / count * 1000:.2f} ms; paced {len(paced)} queries "
          f"({len(paced) / MEASURE_S:.0f}/s), p50 {paced_cuts[49]:.1f} ms, p99 "
          f"{paced_cuts[98]:.1f} ms; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs", file=sys.stderr)
    floor_cuts = statistics.quantiles(floor, n=100)
    print(f"# track floor (bare aiohttp + Redis script + the same SQL on asyncpg, same load): "
          f"{len(floor) / MEASURE_S:.0f}/s, p50 {floor_cuts[49]:.1f} ms, p99 "
          f"{floor_cuts[98]:.1f} ms", file=sys.stderr)
    return [Figure("customer_query_p99_ms", round(cuts[98], 1), "ms"),
            Figure("customer_query_per_s", round(count / MEASURE_S), "req/s"),
            Figure("customer_query_cpu_ms", round(service_cpu / count * 1000, 2), "ms"),
            Figure("customer_query_paced_p99_ms", round(paced_cuts[98], 1), "ms"),
            Figure("customer_query_floor_p99_ms", round(floor_cuts[98], 1), "ms"),
            Figure("customer_query_floor_per_s", round(len(floor) / MEASURE_S), "req/s")]
