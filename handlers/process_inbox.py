"""Use case: handle one batch of inbox envelopes (what every worker runs).

Channel payloads of the whole batch go through one ingest transaction (that is what makes
thousands of orders per second possible). An envelope whose kind has no handler, or that
cannot even be decoded, is dead-lettered with the reason instead of blocking the queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.inbox import Envelope
from core.payloads import RawPayload, from_envelope
from handlers.ingest_order import IngestPayloads, ingest_payloads
from handlers.ports import ChannelParser, UnitOfWork

CHANNEL_PAYLOAD = "channel_payload"


@dataclass(frozen=True, slots=True)
class InboxDeps:
    parser: ChannelParser
    new_uow: Callable[[], UnitOfWork]


async def process_batch(envelopes: Sequence[Envelope], deps: InboxDeps, *, now: datetime) -> None:
    """Handle every envelope; raises only on infrastructure failure (nothing is acked then)."""
    payloads: list[RawPayload] = []
    for envelope in envelopes:
        if envelope.kind != CHANNEL_PAYLOAD:
            await dead_letter(envelope, f"no handler for inbox kind {envelope.kind!r}", deps,
                              now=now)
            continue
        try:
            payloads.append(from_envelope(envelope.payload))
        except ValueError as error:
            await dead_letter(envelope, str(error), deps, now=now)
    if payloads:
        await ingest_payloads(IngestPayloads(payloads, now), deps.parser, deps.new_uow)


async def dead_letter(envelope: Envelope, reason: str, deps: InboxDeps, *, now: datetime) -> None:
    """Keep the whole envelope with the reason (poison messages, unknown kinds)."""
    raw = json.dumps({"kind": envelope.kind, "dedup_key": envelope.dedup_key,
                      "payload": dict(envelope.payload)}, ensure_ascii=False).encode()
    async with deps.new_uow() as uow:
        await uow.dead_letters.add(source=f"inbox:{envelope.kind}", reason=reason, raw=raw,
                                   received_at=now, content_type="application/json",
                                   meta={"attempts": envelope.attempts})
        await uow.commit()
