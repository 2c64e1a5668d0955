"""A worker process for the inbox kill test: it takes from the Redis inbox and processes each
envelope into a real store, acking only every ``ACK_EVERY`` messages, until it is killed.

``python -m tests.fakes.inbox_worker REDIS_URL PREFIX CONSUMER``

Processing = ``HSETNX <prefix>:results <dedup key> <payload n>`` (the idempotent upsert of the
real pipeline in miniature: a redelivered message cannot store twice) plus ``RPUSH
<prefix>:log <dedup key>`` (every processing, so the test sees the redeliveries).
"""

from __future__ import annotations

import asyncio
import sys

from redis.asyncio import Redis

from core.inbox import Envelope
from storage.inbox.redis_streams import RedisStreamsInbox

ACK_EVERY = 40  # not a divisor of the take batch (50): the kill never meets an empty pending list


async def process(client: Redis, prefix: str, envelope: Envelope) -> None:
    async with client.pipeline(transaction=True) as pipe:
        pipe.hsetnx(f"{prefix}:results", envelope.dedup_key, str(envelope.payload["n"]))
        pipe.rpush(f"{prefix}:log", envelope.dedup_key)
        await pipe.execute()


async def work(url: str, prefix: str, consumer: str) -> None:
    client = Redis.from_url(url, socket_timeout=10)
    inbox = RedisStreamsInbox(client, prefix=prefix)
    await inbox.setup()
    done: list[Envelope] = []
    while True:
        for envelope in await inbox.take(consumer, 50, 1000):
            await process(client, prefix, envelope)
            done.append(envelope)
            if len(done) >= ACK_EVERY:
                await inbox.ack(done)
                done = []
            await asyncio.sleep(0.002)  # slow enough to be killed mid-stream


if __name__ == "__main__":
    asyncio.run(work(*sys.argv[1:4]))
