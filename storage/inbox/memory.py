"""The in-process inbox twin: the Redis/SQL semantics without a server, for unit tests.

Same contract as the durable backends (dedup that outlives the ack, FIFO take, a pending list
per consumer, reclaim by idle time, ``attempts`` counting deliveries). It is not durable: a
process restart loses it, so the service never uses it for real traffic. The clock is
injectable (monotonic seconds) so a test can age pending messages without sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from core.inbox import Envelope
from storage.inbox.codec import dump_payload, load_payload

DEFAULT_DEDUP_TTL_S = 3 * 24 * 3600


@dataclass(slots=True)
class _Message:
    envelope: Envelope
    payload: str
    consumer: str | None = None
    claimed_at: float = 0.0
    attempts: int = 0


class MemoryInbox:
    """``Inbox`` and ``InboxConsumer`` in a dict; one instance is one queue."""

    def __init__(
        self, *, dedup_ttl_s: float = DEFAULT_DEDUP_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._ttl = dedup_ttl_s
        self._clock = clock
        self._ids = itertools.count(1)
        self._messages: dict[str, _Message] = {}  # insertion order is FIFO order
        self._ready: deque[str] = deque()
        self._seen: dict[str, float] = {}  # dedup key -> expiry
        self._arrived = asyncio.Event()

    async def put(self, envelope: Envelope) -> bool:
        now, text = self._clock(), dump_payload(envelope.payload)
        if self._seen.get(envelope.dedup_key, -1.0) > now:
            return False
        self._seen[envelope.dedup_key] = now + self._ttl
        message_id = str(next(self._ids))
        stored = replace(envelope, payload={}, attempts=0, id=message_id)
        self._messages[message_id] = _Message(stored, text)
        self._ready.append(message_id)
        self._arrived.set()
        return True

    async def put_many(self, envelopes: Sequence[Envelope]) -> list[bool]:
        return [await self.put(envelope) for envelope in envelopes]

    async def take(self, consumer: str, count: int, block_ms: int) -> list[Envelope]:
        deadline = self._clock() + block_ms / 1000
        while not self._ready:
            remaining = deadline - self._clock()
            if remaining <= 0:
                return []
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), remaining)
            except TimeoutError:
                return []
        taken = [self._ready.popleft() for _ in range(min(count, len(self._ready)))]
        return [self._deliver(self._messages[i], consumer) for i in taken]

    async def ack(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            message = self._messages.get(envelope.id)
            if message is not None and message.consumer is not None:
                del self._messages[envelope.id]

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Envelope]:
        cutoff = self._clock() - min_idle_ms / 1000
        idle = [m for m in self._messages.values()
                if m.consumer is not None and m.claimed_at <= cutoff][:count]  # fmt: skip
        return [self._deliver(m, consumer) for m in idle]

    async def pending_count(self) -> int:
        return sum(1 for m in self._messages.values() if m.consumer is not None)

    async def size(self) -> int:
        return len(self._messages)

    def prune(self) -> int:
        """Forget expired dedup keys; returns how many. Expired keys are ignored anyway."""
        now = self._clock()
        expired = [key for key, expiry in self._seen.items() if expiry <= now]
        for key in expired:
            del self._seen[key]
        return len(expired)

    def _deliver(self, message: _Message, consumer: str) -> Envelope:
        message.consumer, message.claimed_at = consumer, self._clock()
        message.attempts += 1
        payload = load_payload(message.payload)  # a fresh copy, as a real backend returns
        return replace(message.envelope, payload=payload, attempts=message.attempts)
