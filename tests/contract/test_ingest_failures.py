"""Failures at ingestion, on both databases: a temporary upstream failure is retried (nothing
stored, nothing dead-lettered), a payload given up on still counts in the daily counters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.errors import TemporaryFailureError
from core.inbox import Envelope
from core.order import Order
from core.payloads import RawPayload, to_envelope
from handlers.ingest_order import IngestPayloads, ingest_payloads
from handlers.process_inbox import CHANNEL_PAYLOAD, InboxDeps, dead_letter
from storage.uow import SqlUnitOfWork

NOW = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)


class ThrottledDetailApi:
    async def parse(self, payload: RawPayload) -> list[Order]:
        raise TemporaryFailureError("order.orderDetail throttled")


def payload() -> RawPayload:
    return RawPayload("douyin", "webhook", b'{"p_id": "6918000000000000001"}',
                      "application/json", NOW, "dy")


async def rows(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_temporary_failure_is_raised_for_a_retry(
    new_uow: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    with pytest.raises(TemporaryFailureError):
        await ingest_payloads(IngestPayloads([payload()], NOW), ThrottledDetailApi(), new_uow)
    assert (await rows(engine, "dead_letters"), await rows(engine, "snapshots")) == (0, 0)


async def test_a_payload_given_up_on_is_counted(
    new_uow: Callable[[], SqlUnitOfWork], engine: AsyncEngine
) -> None:
    envelope = Envelope(kind=CHANNEL_PAYLOAD, dedup_key="push:douyin:x",
                        payload=to_envelope(payload()), received_at=NOW, attempts=6)
    await dead_letter(envelope, "gave up after 5 attempts", InboxDeps(ThrottledDetailApi(),
                                                                     new_uow), now=NOW)
    async with engine.connect() as conn:
        counted = (await conn.execute(text(
            "SELECT channel, received, dead_lettered FROM channel_counters"))).all()
    assert [tuple(r) for r in counted] == [("douyin", 1, 1)]
    assert await rows(engine, "dead_letters") == 1
