"""Kill test (issue 3): a worker process is SIGKILLed mid-stream with messages taken but not
acked; a second consumer reclaims them with XAUTOCLAIM, and every queued message ends up
stored exactly once: none lost, none twice. Real Redis on 127.0.0.1:6379 (fails if down).

Transcript: 600 envelopes queued -> worker "doomed" takes batches of 50, stores each, acks every
40 -> killed after ~170 stores -> its pending list holds stored-but-unacked and
taken-but-unstored messages -> "rescuer" reclaims (attempts 2) and takes the rest -> the result
store has each of the 600 keys once with the right value; the queue is empty.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

from core.inbox import Envelope
from storage.inbox.redis_streams import RedisStreamsInbox
from tests.fakes.inbox_worker import process
from tests.redis_support import REDIS_URL, redis_for_test

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 600
IDLE_MS = 300


async def wait_for_stores(client: Redis, prefix: str, at_least: int) -> None:
    for _ in range(400):
        if await client.llen(f"{prefix}:log") >= at_least:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("the worker process did not get going")


async def rescue(inbox: RedisStreamsInbox, client: Redis, prefix: str) -> list[Envelope]:
    """The second consumer: reclaim the dead worker's pending work, then drain the rest."""
    reclaimed: list[Envelope] = []
    for _ in range(100):
        batch = await inbox.reclaim("rescuer", IDLE_MS, 100)
        reclaimed += batch
        batch += await inbox.take("rescuer", 100, 0)
        for envelope in batch:
            await process(client, prefix, envelope)
        await inbox.ack(batch)
        if await inbox.size() == 0:
            return reclaimed
        await asyncio.sleep(IDLE_MS / 1000 / 3)
    raise AssertionError("the queue did not drain")


async def test_a_killed_worker_loses_nothing_and_stores_nothing_twice() -> None:
    async with redis_for_test() as (client, prefix):
        inbox = RedisStreamsInbox(client, prefix=prefix)
        await inbox.setup()
        at = datetime.now(UTC)
        for n in range(TOTAL):
            assert await inbox.put(Envelope("ingest_order", f"tb:{n}", {"n": n}, at))
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.fakes.inbox_worker", REDIS_URL, prefix, "doomed",
            cwd=ROOT,
        )
        try:
            await wait_for_stores(client, prefix, 170)
        finally:
            worker.send_signal(signal.SIGKILL)
            assert await worker.wait() == -signal.SIGKILL

        stored_before = await client.llen(f"{prefix}:log")
        assert stored_before < TOTAL, "killed too late: not mid-stream"
        in_flight = await inbox.pending_count()
        assert in_flight > 0, "the worker had taken nothing unacked"

        reclaimed = await rescue(inbox, client, prefix)

        results = await client.hgetall(f"{prefix}:results")
        expected = {f"tb:{n}": n for n in range(TOTAL)}
        assert {k.decode(): int(v) for k, v in results.items()} == expected
        assert (await inbox.size(), await inbox.pending_count()) == (0, 0)
        assert len(reclaimed) == in_flight
        assert {e.attempts for e in reclaimed} == {2}
        log = Counter(k.decode() for k in await client.lrange(f"{prefix}:log", 0, -1))
        twice = {key for key, times in log.items() if times > 1}
        assert set(log) == set(expected)
        assert twice, "no stored-but-unacked message: the kill did not hit the ack window"
        assert twice <= {e.dedup_key for e in reclaimed}  # only redeliveries ran twice
        assert max(log.values()) == 2
