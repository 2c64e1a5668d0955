"""The embedded inbox: a table in the service's own database (SQLite default, or PostgreSQL),
so the embedded mode needs no server and a put is durable once its transaction commits.

* ``put``: remember the dedup key in ``inbox_seen`` (an expired key is renewed, a live one
  means duplicate) and insert the row, one transaction.
* ``take``/``reclaim``: one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
  RETURNING``; PostgreSQL workers skip each other's rows, SQLite serialises writers with
  ``BEGIN IMMEDIATE`` (``storage/db.py``).
* ``ack``: delete. The dedup key stays in ``inbox_seen`` until ``prune()`` (schedule it).

Idle time is measured with this process's clock (``claimed_at``): workers on several machines
need synchronised clocks (NTP), as usual. A blocking ``take`` polls every ``poll_s`` and is
woken at once by a ``put`` in the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from core.inbox import Envelope
from storage.inbox.codec import dump_payload, load_payload
from storage.inbox.tables import InboxRow, InboxSeenRow
from storage.types import UTCDateTime

inbox_t = InboxRow.__table__  # type: ignore[attr-defined]
seen_t = InboxSeenRow.__table__  # type: ignore[attr-defined]

DEFAULT_DEDUP_TTL_S = 3 * 24 * 3600
_RETURNED = (inbox_t.c.id, inbox_t.c.kind, inbox_t.c.dedup_key, inbox_t.c.payload,
             inbox_t.c.received_at, inbox_t.c.attempts)  # fmt: skip


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SqlInbox:
    """``Inbox`` and ``InboxConsumer`` on the ``inbox``/``inbox_seen`` tables (migration 0002)."""

    def __init__(
        self, engine: AsyncEngine, *, dedup_ttl_s: int = DEFAULT_DEDUP_TTL_S,
        poll_s: float = 0.1, clock: Callable[[], datetime] = _utcnow,
    ) -> None:  # fmt: skip
        self._engine = engine
        self._ttl = timedelta(seconds=dedup_ttl_s)
        self._poll_s = poll_s
        self._clock = clock
        self._arrived = asyncio.Event()

    async def put(self, envelope: Envelope) -> bool:
        return (await self.put_many([envelope]))[0]

    async def put_many(self, envelopes: Sequence[Envelope]) -> list[bool]:
        """Several puts in one transaction (one commit, one fsync)."""
        now = self._clock()
        async with self._engine.begin() as conn:
            queued = [await self._put_one(conn, envelope, now) for envelope in envelopes]
        self._arrived.set()
        return queued

    async def _put_one(self, conn: AsyncConnection, envelope: Envelope, now: datetime) -> bool:
        if not await self._remember(conn, envelope.dedup_key, now):
            return False
        row = {"dedup_key": envelope.dedup_key, "kind": envelope.kind,
               "payload": dump_payload(envelope.payload), "received_at": envelope.received_at}
        return (await conn.execute(_ADD, row)).first() is not None

    async def take(self, consumer: str, count: int, block_ms: int) -> list[Envelope]:
        deadline = asyncio.get_running_loop().time() + block_ms / 1000
        while True:
            self._arrived.clear()
            taken = await self._claim(consumer, inbox_t.c.consumer.is_(None), count)
            remaining = deadline - asyncio.get_running_loop().time()
            if taken or remaining <= 0:
                return taken
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, self._poll_s))

    async def ack(self, envelopes: Sequence[Envelope]) -> None:
        ids = [int(e.id) for e in envelopes]
        if ids:
            async with self._engine.begin() as conn:
                await conn.execute(delete(inbox_t).where(inbox_t.c.id.in_(ids),
                                                         inbox_t.c.consumer.is_not(None)))

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Envelope]:
        cutoff = self._clock() - timedelta(milliseconds=min_idle_ms)
        idle = inbox_t.c.consumer.is_not(None) & (inbox_t.c.claimed_at <= cutoff)
        return await self._claim(consumer, idle, count)

    async def pending_count(self) -> int:
        return await self._count(inbox_t.c.consumer.is_not(None))

    async def size(self) -> int:
        return await self._count(None)

    async def prune(self) -> int:
        """Forget dedup keys past their TTL; returns how many. Run it periodically."""
        async with self._engine.begin() as conn:
            result = await conn.execute(delete(seen_t).where(seen_t.c.expires_at <= self._clock()))
        return int(result.rowcount)

    async def _remember(self, conn: AsyncConnection, key: str, now: datetime) -> bool:
        """True when ``key`` is new (or its memory expired): insert or renew its seen row."""
        params = {"dedup_key": key, "expires_at": now + self._ttl, "now": now}
        return (await conn.execute(_REMEMBER, params)).first() is not None

    async def _claim(self, consumer: str, which: Any, count: int) -> list[Envelope]:
        chosen = (select(inbox_t.c.id).where(which).order_by(inbox_t.c.id).limit(count)
                  .with_for_update(skip_locked=True))  # fmt: skip
        stmt = (update(inbox_t).where(inbox_t.c.id.in_(chosen.scalar_subquery()))
                .values(consumer=consumer, claimed_at=self._clock(),
                        attempts=inbox_t.c.attempts + 1)
                .returning(*_RETURNED))  # fmt: skip
        async with self._engine.begin() as conn:
            rows = (await conn.execute(stmt)).all()
        return [_envelope(row) for row in sorted(rows, key=lambda r: r.id)]

    async def _count(self, which: Any) -> int:
        query = select(func.count()).select_from(inbox_t)
        if which is not None:
            query = query.where(which)
        async with self._engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())


# Plain SQL, valid on SQLite >= 3.35 and PostgreSQL alike: SQLAlchemy 2.0's dialect-specific
# insert() constructs carry no cache key and are compiled on every call, which tripled the cost
# of a put; a text() statement compiles once.
_REMEMBER = text(
    "INSERT INTO inbox_seen (dedup_key, expires_at) VALUES (:dedup_key, :expires_at) "
    "ON CONFLICT (dedup_key) DO UPDATE SET expires_at = excluded.expires_at "
    "WHERE inbox_seen.expires_at <= :now RETURNING dedup_key"
).bindparams(bindparam("expires_at", type_=UTCDateTime()), bindparam("now", type_=UTCDateTime()))
_ADD = text(
    "INSERT INTO inbox (dedup_key, kind, payload, received_at, attempts) "
    "VALUES (:dedup_key, :kind, :payload, :received_at, 0) "
    "ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
).bindparams(bindparam("received_at", type_=UTCDateTime()))


def _envelope(row: Row[Any]) -> Envelope:
    return Envelope(kind=row.kind, dedup_key=row.dedup_key, payload=load_payload(row.payload),
                    received_at=row.received_at, attempts=row.attempts, id=str(row.id))
