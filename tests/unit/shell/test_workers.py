"""Inbox workers: a poison envelope is isolated from its batch, retried, then dead-lettered
with its own error; an infrastructure outage does not turn into a storm of single retries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.workers import Worker, WorkerSettings
from core.inbox import Envelope
from storage.inbox.memory import MemoryInbox

T = datetime(2026, 11, 11, tzinfo=UTC)


def envelope(n: int) -> Envelope:
    return Envelope(kind="channel_payload", dedup_key=f"k{n}", payload={"n": n}, received_at=T)


class Handler:
    """Records what it handled; fails on ``poison`` numbers, or on everything when ``down``."""

    def __init__(self, poison: set[int] = frozenset(), down: bool = False) -> None:  # type: ignore[assignment]
        self.poison, self.down = poison, down
        self.handled: list[int] = []
        self.calls = 0

    async def __call__(self, envelopes: Sequence[Envelope]) -> None:
        self.calls += 1
        numbers = [int(e.payload["n"]) for e in envelopes]
        if self.down or self.poison & set(numbers):
            raise RuntimeError(f"cannot handle {sorted(self.poison & set(numbers))}")
        self.handled += numbers


async def filled(count: int) -> MemoryInbox:
    inbox = MemoryInbox()
    for n in range(count):
        assert await inbox.put(envelope(n))
    return inbox


async def test_poison_is_isolated_and_the_rest_acked() -> None:
    inbox, handler, dead = await filled(10), Handler(poison={4}), []

    async def poison(e: Envelope, reason: str) -> None:
        dead.append((int(e.payload["n"]), reason))

    worker = Worker("w1", inbox, handler, poison, WorkerSettings(batch=10, reclaim_idle_s=0.0,
                                                                 max_attempts=2))
    await worker.run_once()
    assert sorted(handler.handled) == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert await inbox.size() == 1  # only the poison envelope waits
    for _ in range(3):  # reclaimed, fails again, then given up on
        await worker.run_once()
    assert await inbox.size() == 0
    assert dead == [(4, "gave up after 2 attempts: RuntimeError: cannot handle [4]")]


async def test_an_outage_stops_after_three_single_failures() -> None:
    inbox, handler = await filled(20), Handler(down=True)

    async def poison(e: Envelope, reason: str) -> None:
        raise AssertionError("nothing is dead-lettered during an outage's first attempt")

    worker = Worker("w1", inbox, handler, poison, WorkerSettings(batch=20, reclaim_idle_s=60))
    await worker.run_once()
    assert handler.calls == 1 + 3  # the batch, then three singles, then it waits
    assert (await inbox.size(), await inbox.pending_count()) == (20, 20)
