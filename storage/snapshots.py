"""Raw payload snapshots, content-addressed (SHA-256) and compressed (zlib)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.payloads import RawPayload
from storage.tables import SnapshotRow
from storage.upsert import insert_ignoring

snapshots_t = SnapshotRow.__table__  # type: ignore[attr-defined]
_KEEP = insert_ignoring(snapshots_t, ("digest",), ("digest", "channel", "content_type", "size",
                                                    "body", "received_at"))


class SqlSnapshots:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def keep(self, payloads: Sequence[RawPayload], *, at: datetime) -> None:
        """Store each body once (a repeat, in the batch or from before, is a no-op)."""
        rows: dict[str, dict[str, object]] = {}
        for p in payloads:
            digest = p.digest
            if digest not in rows:
                rows[digest] = {"digest": digest, "channel": p.channel,
                                "content_type": p.content_type, "size": len(p.body),
                                "body": zlib.compress(p.body, 1), "received_at": at}
        if rows:
            await self._session.execute(_KEEP, list(rows.values()))

    async def get(self, digest: str) -> bytes | None:
        query = select(snapshots_t.c.body).where(snapshots_t.c.digest == digest)
        packed = (await self._session.execute(query)).scalar_one_or_none()
        return None if packed is None else zlib.decompress(packed)
