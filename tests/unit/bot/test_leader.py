"""``bot.leader.lead`` on the in-process lock twin (``MemoryLocks``, same semantics as Redis):
one job at a time, takeover after a release, stop at once when the lock is lost, and a job
that ended by itself keeps the lock (no standby fights an outside connection)."""

from __future__ import annotations

import asyncio

from bot.leader import lead
from storage.locks import MemoryLocks

TTL_MS = 150


class Job:
    """A stand-in for the robot's link: runs until stopped, or ends by itself when told."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.running = False
        self._stop = asyncio.Event()

    async def run(self) -> None:
        self._stop.clear()
        self.running = True
        self.log.append(f"{self.name} up")
        try:
            await self._stop.wait()
        finally:
            self.running = False
            self.log.append(f"{self.name} down")

    async def stop(self) -> None:
        self._stop.set()


async def settle(seconds: float = TTL_MS / 1000) -> None:
    await asyncio.sleep(seconds)


async def test_one_leader_and_a_takeover_after_release() -> None:
    locks, log = MemoryLocks(), []
    a, b = Job("a", log), Job("b", log)
    task_a = asyncio.create_task(lead(locks.lock("bot", TTL_MS), a.run, a.stop, name="a"))
    await settle(0.05)
    task_b = asyncio.create_task(lead(locks.lock("bot", TTL_MS), b.run, b.stop, name="b"))
    await settle(3 * TTL_MS / 1000)
    assert (a.running, b.running) == (True, False)
    task_a.cancel()
    await asyncio.gather(task_a, return_exceptions=True)
    await settle()
    assert (a.running, b.running) == (False, True)
    assert log == ["a up", "a down", "b up"]
    task_b.cancel()
    await asyncio.gather(task_b, return_exceptions=True)
    assert locks.holder("bot") is None


async def test_a_lost_lock_stops_the_job_at_once() -> None:
    locks, log = MemoryLocks(), []
    a = Job("a", log)
    task = asyncio.create_task(lead(locks.lock("bot", TTL_MS), a.run, a.stop, name="a"))
    await settle(0.05)
    assert a.running
    locks.held["bot"] = ("someone-else", locks.clock() + 60)  # it lapsed and was taken
    await settle()
    assert not a.running and log == ["a up", "a down"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert locks.holder("bot") == "someone-else"  # never released someone else's lock


async def test_a_job_that_ends_by_itself_keeps_the_lock() -> None:
    locks, log = MemoryLocks(), []
    a, b = Job("a", log), Job("b", log)
    task_a = asyncio.create_task(lead(locks.lock("bot", TTL_MS), a.run, a.stop, name="a"))
    await settle(0.05)
    await a.stop()  # e.g. kicked by a connection outside this deployment
    task_b = asyncio.create_task(lead(locks.lock("bot", TTL_MS), b.run, b.stop, name="b"))
    await settle(3 * TTL_MS / 1000)
    assert log == ["a up", "a down"] and locks.holder("bot") is not None
    for task in (task_a, task_b):
        task.cancel()
    await asyncio.gather(task_a, task_b, return_exceptions=True)
