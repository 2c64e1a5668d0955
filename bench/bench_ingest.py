"""Webhook -> stored, the production shape: one `orderbot run` (web only) acknowledging signed
有赞 pushes into Redis Streams, two `orderbot worker` processes storing into PostgreSQL. The load
comes from wrk (C, one thread) so the load generator does not eat the CPU being measured.

Figures: ``ingest_orders_per_s`` — distinct pushes sent as fast as 64 connections go for 8 s,
divided by the time until the last one is stored (target >= 2,000/s); ``webhook_ack_p99_ms`` —
pushes paced at about 1,000 requests/s for 5 s while the workers run (target p99 < 20 ms);
``webhook_ack_rate_per_s`` — the rate that phase really achieved."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg

from bench.common import Figure, postgres_database
from tests.e2e.pushes import YOUZAN_SHOP, youzan_order, youzan_push

BURST_SECONDS, BURST_LINES, CONNECTIONS = 8, 40_000, 64
RATE_SECONDS, RATE_CONNECTIONS, RATE_DELAY_MS = 5, 25, 24  # ~1,000 requests/s
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).with_name("wrk_webhooks.lua")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def service(url: str, port: int, folder: Path) -> Iterator[None]:
    (folder / "config.toml").write_text(YOUZAN_SHOP, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERBOT_")} | {
        "ORDERBOT_DATABASE__URL": url, "ORDERBOT_INBOX__BACKEND": "redis",
        "ORDERBOT_SERVER__PORT": str(port), "ORDERBOT_LOG__LEVEL": "WARNING",
        "ORDERBOT_INBOX__STREAM_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
        "PYTHONPATH": str(ROOT)}
    commands = [("run", "0"), ("worker", "2"), ("worker", "2")]
    started = [subprocess.Popen([sys.executable, "-m", "bot.cli", command], cwd=folder,
                                env=env | {"ORDERBOT_INBOX__WORKERS": workers})
               for command, workers in commands]
    try:
        yield
    finally:
        for process in started:
            process.send_signal(signal.SIGINT)
        for process in started:
            process.wait(timeout=15)


def write_requests(path: Path, prefix: str, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            push = youzan_push(youzan_order(f"{prefix}{n:06d}"))
            out.write(f"{push.headers['event-sign']}\t{push.headers['client-id']}\t"
                      f"{push.body.decode()}\n")


def wrk(url: str, requests: Path, seconds: int, connections: int, delay_ms: int = 0
        ) -> dict[str, int]:
    env = os.environ | {"REQUESTS_FILE": str(requests), "DELAY_MS": str(delay_ms)}
    result = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s", "-s",
         str(SCRIPT), url], env=env, capture_output=True, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT"))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


async def count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM orders"))
    finally:
        await conn.close()


async def until_stored(dsn: str, expected: int, patience_s: float = 60) -> int:
    last, since = -1, time.perf_counter()
    while (stored := await count(dsn)) < expected:
        if stored != last:
            last, since = stored, time.perf_counter()
        elif time.perf_counter() - since > patience_s:
            raise RuntimeError(f"stuck at {stored}/{expected} stored orders")
        await asyncio.sleep(0.05)
    return stored


async def wait_healthy(port: int) -> None:
    for _ in range(300):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("service did not start")


async def run() -> list[Figure]:
    port = free_port()
    url = f"http://127.0.0.1:{port}/webhooks/youzan/yz"
    async with postgres_database("orderbot_bench_ingest") as db_url:
        dsn = db_url.replace("postgresql+asyncpg", "postgresql")
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            write_requests(folder / "burst.tsv", "B", BURST_LINES)
            write_requests(folder / "rate.tsv", "R", RATE_SECONDS * 1_000 + 2_000)
            with service(db_url, port, folder):
                await wait_healthy(port)
                await asyncio.sleep(1.0)  # workers connected
                started = time.perf_counter()
                burst = await asyncio.to_thread(wrk, url, folder / "burst.tsv",
                                                BURST_SECONDS, CONNECTIONS)
                sent = min(burst["requests"], BURST_LINES)
                await until_stored(dsn, sent)
                rate = sent / (time.perf_counter() - started)
                paced = await asyncio.to_thread(wrk, url, folder / "rate.tsv", RATE_SECONDS,
                                                RATE_CONNECTIONS, RATE_DELAY_MS)
                await until_stored(dsn, sent + paced["requests"])
    failures = burst["errors"] + burst["non2xx"] + paced["errors"] + paced["non2xx"]
    if failures:
        raise RuntimeError(f"{failures} webhook requests failed")
    return [Figure("ingest_orders_per_s", round(rate), "orders/s"),
            Figure("webhook_ack_p99_ms", round(paced["p99_us"] / 1000, 2), "ms"),
            Figure("webhook_ack_rate_per_s", round(paced["requests"] / RATE_SECONDS),
                   "requests/s")]
