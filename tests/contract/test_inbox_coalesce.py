"""Coalesced puts behave like single puts on every backend: each caller gets its own answer,
duplicates are refused, order is kept, and a failing backend fails every waiting caller."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from core.inbox import Envelope
from storage.inbox.coalesce import CoalescingPut
from tests.contract.test_inbox import BACKENDS, Queue, backend, envelope, inbox

__all__ = ["BACKENDS", "backend", "inbox"]  # fixtures reused from the inbox contract suite


async def test_concurrent_puts_share_round_trips(inbox: Queue) -> None:
    coalescing = CoalescingPut(inbox, max_batch=16)  # type: ignore[arg-type]
    keys = [n % 40 for n in range(50)]  # 10 repeats of earlier keys
    results = await asyncio.gather(*(coalescing.put(envelope(k)) for k in keys))
    assert results.count(True) == 40 and results.count(False) == 10
    taken = await inbox.take("w", 100, 0)
    assert sorted(e.payload["n"] for e in taken) == list(range(40))  # each key exactly once


async def test_one_caller_keeps_fifo(inbox: Queue) -> None:
    coalescing = CoalescingPut(inbox)  # type: ignore[arg-type]
    for n in range(10):
        assert await coalescing.put(envelope(n))
    assert [e.payload["n"] for e in await inbox.take("w", 100, 0)] == list(range(10))


class Broken:
    async def put_many(self, envelopes: Sequence[Envelope]) -> list[bool]:
        raise ConnectionError("inbox down")


async def test_a_failing_backend_fails_every_waiting_put() -> None:
    coalescing = CoalescingPut(Broken())
    results = await asyncio.gather(*(coalescing.put(envelope(n)) for n in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


@pytest.mark.parametrize("size", [1, 7])
async def test_batches_never_exceed_max(size: int) -> None:
    seen: list[int] = []

    class Recorder:
        async def put_many(self, envelopes: Sequence[Envelope]) -> list[bool]:
            seen.append(len(envelopes))
            return [True] * len(envelopes)

    coalescing = CoalescingPut(Recorder(), max_batch=size)
    assert all(await asyncio.gather(*(coalescing.put(envelope(n)) for n in range(20))))
    assert max(seen) <= size and sum(seen) == 20
