"""Use case: handle one batch of inbox envelopes (what every worker runs).

Channel payloads of the whole batch go through one ingest transaction (that is what makes
thousands of orders per second possible). Chat items (``receive_text``, ``click_card``) are
handled one by one, in arrival order, when chat is installed (``InboxDeps.chat``). An envelope
whose kind has no handler, or that cannot even be decoded, is dead-lettered with the reason
instead of blocking the queue.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from core.batch import BatchResult
from core.chat import card_action_from_json, inbound_from_json
from core.counters import ChannelDay, tally
from core.inbox import Envelope
from core.payloads import RawPayload, from_envelope
from handlers.announce import NewDeadLetter, announce_dead_letters
from handlers.chat_deps import ChatDeps
from handlers.click_card import click_card
from handlers.ingest_order import IngestPayloads, ingest_payloads
from handlers.ports import ChannelParser, UnitOfWork
from handlers.receive_text import receive_text

CHANNEL_PAYLOAD = "channel_payload"
RECEIVE_TEXT = "receive_text"
CLICK_CARD = "click_card"


@dataclass(frozen=True, slots=True)
class InboxDeps:
    parser: ChannelParser
    new_uow: Callable[[], UnitOfWork]
    chat: ChatDeps | None = None  # None: chat is not installed, chat kinds are dead-lettered


async def process_batch(envelopes: Sequence[Envelope], deps: InboxDeps, *, now: datetime) -> None:
    """Handle every envelope; raises only on infrastructure failure (nothing is acked then)."""
    payloads: list[RawPayload] = []
    for envelope in envelopes:
        if deps.chat is not None and envelope.kind in (RECEIVE_TEXT, CLICK_CARD):
            await _chat(envelope, deps, deps.chat, now)
            continue
        if envelope.kind != CHANNEL_PAYLOAD:
            await dead_letter(envelope, f"no handler for inbox kind {envelope.kind!r}", deps,
                              now=now)
            continue
        try:
            payloads.append(from_envelope(envelope.payload))
        except ValueError as error:
            await dead_letter(envelope, str(error), deps, now=now)
    if payloads:
        await ingest_payloads(IngestPayloads(payloads, now), deps.parser, deps.new_uow,
                              deps.chat)


async def _chat(envelope: Envelope, deps: InboxDeps, chat: ChatDeps, now: datetime) -> None:
    try:
        if envelope.kind == RECEIVE_TEXT:
            message = inbound_from_json(envelope.payload)
        else:
            action = card_action_from_json(envelope.payload)
    except (KeyError, TypeError, ValueError) as error:
        await dead_letter(envelope, f"undecodable {envelope.kind}: {error}", deps, now=now)
        return
    if envelope.kind == RECEIVE_TEXT:
        await receive_text(message, chat, now=now)
    else:
        await click_card(action, chat, now=now)


async def dead_letter(envelope: Envelope, reason: str, deps: InboxDeps, *, now: datetime) -> None:
    """Keep the whole envelope with the reason (poison messages, unknown kinds); with chat
    installed, ops get a card about it (paced) in the same transaction. The same envelope
    dead-lettered again (a reclaim after a slow batch) is kept, counted and announced once."""
    raw = json.dumps({"kind": envelope.kind, "dedup_key": envelope.dedup_key,
                      "payload": dict(envelope.payload)}, ensure_ascii=False).encode()
    source = f"inbox:{envelope.kind}"
    meta = {"attempts": envelope.attempts}
    chat = deps.chat
    if chat is None:
        async with deps.new_uow() as uow:
            letter_id = await uow.dead_letters.add(source=source, reason=reason, raw=raw,
                                                   received_at=now,
                                                   content_type="application/json", meta=meta)
            await uow.counters.add(_failed_payload(envelope, now, repeat=letter_id is None))
            await uow.commit()
        return
    async with chat.new_uow() as chat_uow:
        letter_id = await chat_uow.dead_letters.add(
            source=source, reason=reason, raw=raw, received_at=now,
            content_type="application/json", meta=meta)
        told = letter_id is not None and await announce_dead_letters(
            chat_uow, [NewDeadLetter(letter_id, source, reason, now)], chat, now=now)
        await chat_uow.counters.add(_failed_payload(envelope, now, repeat=letter_id is None))
        await chat_uow.commit()
    if told:
        chat.queued()


def _failed_payload(envelope: Envelope, now: datetime, *, repeat: bool) -> list[ChannelDay]:
    """A channel payload given up on still counts: received and dead-lettered (or, when the
    same envelope was already dead-lettered, a duplicate), so the daily counters keep adding
    up (received = stored + duplicates + dead-lettered)."""
    channel = envelope.payload.get("channel") if envelope.kind == CHANNEL_PAYLOAD else None
    if not isinstance(channel, str):
        return []
    return tally(BatchResult((), (), ()), [channel], at=now, repeats=[channel] if repeat else [])
