"""The in-process inbox twin on a fake clock: idle time and dedup expiry without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime

from core.inbox import Envelope
from storage.inbox.memory import MemoryInbox

T = datetime(2026, 1, 2, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def envelope(key: str) -> Envelope:
    return Envelope(kind="ingest_order", dedup_key=key, payload={"k": key}, received_at=T)


async def test_reclaim_follows_the_injected_clock() -> None:
    clock = Clock()
    inbox = MemoryInbox(clock=clock)
    await inbox.put(envelope("a"))
    await inbox.take("dead", 1, 0)
    clock.now += 29.999
    assert await inbox.reclaim("w2", 30_000, 10) == []
    clock.now += 0.001
    assert [e.attempts for e in await inbox.reclaim("w2", 30_000, 10)] == [2]


async def test_dedup_keys_expire_after_their_ttl_and_prune() -> None:
    clock = Clock()
    inbox = MemoryInbox(dedup_ttl_s=60, clock=clock)
    assert await inbox.put(envelope("a")) is True
    clock.now += 59
    assert await inbox.put(envelope("a")) is False
    clock.now += 1
    assert inbox.prune() == 1
    assert await inbox.put(envelope("a")) is True
