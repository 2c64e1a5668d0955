"""Inbox workers: a poison envelope is isolated from its batch, retried, then dead-lettered
with its own error; an infrastructure outage does not turn into a storm of single retries;
a short take lingers once so trickling work is still stored in batches."""

from __future__ import annotations

import asyncio
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


async def never_poisoned(e: Envelope, reason: str) -> None:
    raise AssertionError(f"nothing is dead-lettered here: {reason}")


async def arriving_later(inbox: MemoryInbox, numbers: range, after_s: float) -> None:
    await asyncio.sleep(after_s)
    for n in numbers:
        assert await inbox.put(envelope(n))


async def test_a_short_take_is_topped_up_with_what_arrived_during_the_linger() -> None:
    inbox, handler = await filled(3), Handler()
    worker = Worker("w1", inbox, handler, never_poisoned,
                    WorkerSettings(batch=50, linger_ms=60, reclaim_idle_s=60))
    later = asyncio.create_task(arriving_later(inbox, range(3, 8), after_s=0.01))
    assert await worker.run_once() == 8
    await later
    assert (handler.calls, sorted(handler.handled)) == (1, list(range(8)))


async def test_no_linger_stores_each_take_as_it_comes() -> None:
    inbox, handler = await filled(3), Handler()
    worker = Worker("w1", inbox, handler, never_poisoned,
                    WorkerSettings(batch=50, linger_ms=0, reclaim_idle_s=60))
    later = asyncio.create_task(arriving_later(inbox, range(3, 8), after_s=0.01))
    assert await worker.run_once() == 3
    await later
    assert await worker.run_once() == 5
    assert handler.calls == 2


async def test_workers_of_one_process_wait_for_new_work_one_at_a_time() -> None:
    """The second worker does not take while the first lingers: the first one's top-up gets
    everything that arrived meanwhile instead of the two splitting it."""
    inbox, handler = await filled(1), Handler()
    taking = asyncio.Lock()
    settings = WorkerSettings(batch=50, linger_ms=60, reclaim_idle_s=60)
    first, second = (Worker(name, inbox, handler, never_poisoned, settings, taking)
                     for name in ("w1", "w2"))
    later = asyncio.create_task(arriving_later(inbox, range(1, 6), after_s=0.01))
    sizes = await asyncio.gather(first.run_once(), second.run_once())
    await later
    assert sizes[0] == 6
    assert sorted(handler.handled) == list(range(6))


async def test_a_worker_stopped_while_another_was_taking_takes_nothing() -> None:
    inbox, handler = await filled(3), Handler()
    taking = asyncio.Lock()
    worker = Worker("w2", inbox, handler, never_poisoned,
                    WorkerSettings(batch=50, reclaim_idle_s=60), taking)
    async with taking:  # another worker of the process is waiting for work
        run = asyncio.create_task(worker.run_once())
        await asyncio.sleep(0)
        worker.stop()
    assert await run == 0
    assert (handler.calls, await inbox.size(), await inbox.pending_count()) == (0, 3, 0)
