"""``orderbot ingest`` and ``orderbot deadletter list|replay``: the pipeline from a terminal.

Both run the same use case the inbox workers run (parse -> snapshot -> ingest -> counters, one
transaction), so a file fed by hand or a dead letter replayed after a mapping fix is stored
exactly as a webhook push would have been.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.app import Database, make_intake, open_database
from bot.config import Config
from core.batch import BatchResult
from core.clock import shanghai_text
from core.ingest import Arrival
from core.payloads import RawPayload, from_envelope
from handlers.ingest_order import IngestOrders, IngestPayloads, ingest_orders, ingest_payloads
from integrations.http import new_session
from storage.dead_letters import DeadLetter

EXIT_OK, EXIT_FAIL = 0, 1


def summary(result: BatchResult) -> str:
    kinds = Counter(kind.value for _, kind in result.kinds)
    parts = [f"{kinds.get(k, 0)} {k}" for k in ("created", "updated", "unchanged")]
    return ", ".join(parts) + f", {len(result.rejected)} rejected"


async def ingest_file(config: Config, channel: str, shop: str | None, path: str,
                      out: TextIO = sys.stdout) -> int:
    body = sys.stdin.buffer.read() if path == "-" else await asyncio.to_thread(
        Path(path).read_bytes)
    content_type = "text/csv" if channel == "pos" else "application/json"
    now = datetime.now(UTC)
    payload = RawPayload(channel, "cli", body, content_type, now, shop)
    database = open_database(config)
    async with new_session() as session:
        intake = make_intake(config, lambda: session)
        try:
            result = await ingest_payloads(IngestPayloads([payload], now), intake,
                                           database.new_uow)
        finally:
            await database.engine.dispose()
    if not result.kinds and not result.rejected:
        print(f"orderbot ingest: {channel}: payload dead-lettered (see `orderbot deadletter "
              "list`)", file=sys.stderr)
        return EXIT_FAIL
    print(summary(result), file=out)
    return EXIT_OK


async def list_dead_letters(config: Config, show_all: bool, out: TextIO = sys.stdout) -> int:
    database = open_database(config)
    try:
        async with database.new_uow() as uow:
            letters = await uow.dead_letters.list(limit=200, pending_only=not show_all)
    finally:
        await database.engine.dispose()
    for letter in letters:
        state = f"replayed {shanghai_text(letter.replayed_at)}" if letter.replayed_at else "open"
        reason = letter.reason if len(letter.reason) <= 120 else letter.reason[:117] + "..."
        print(f"{letter.id:>6}  {shanghai_text(letter.received_at)}  {letter.source:<22} "
              f"{state:<24} {reason}", file=out)
    if not letters:
        print("no dead letters" + ("" if show_all else " waiting for replay"), file=out)
    return EXIT_OK


def payload_of(letter: DeadLetter, now: datetime) -> RawPayload:
    """Rebuild what failed, with what it needs to be processed again."""
    meta = letter.meta or {}
    if letter.source.startswith("inbox:"):
        return from_envelope(json.loads(letter.raw)["payload"])
    source, _, channel = letter.source.partition(":")
    return RawPayload(
        channel=str(meta.get("channel") or channel), source=str(meta.get("source") or source),
        body=letter.raw, content_type=letter.content_type, received_at=now,
        shop=meta.get("shop"), query=meta.get("query") or {},
        headers=meta.get("headers") or {},
    )


async def replay_dead_letter(config: Config, letter_id: int, out: TextIO = sys.stdout) -> int:
    database = open_database(config)
    try:
        return await _replay(config, database, letter_id, out)
    finally:
        await database.engine.dispose()


async def _replay(config: Config, database: Database, letter_id: int, out: TextIO) -> int:
    now = datetime.now(UTC)
    async with database.new_uow() as uow:
        letter = await uow.dead_letters.get(letter_id)
    if letter is None:
        print(f"orderbot deadletter: no dead letter {letter_id}", file=sys.stderr)
        return EXIT_FAIL
    payload = payload_of(letter, now)
    async with new_session() as session:
        try:
            orders = await make_intake(config, lambda: session).parse(payload)
        except Exception as error:  # still broken: keep the letter, say why
            print(f"orderbot deadletter: {letter_id} still fails: {type(error).__name__}: "
                  f"{error}", file=sys.stderr)
            return EXIT_FAIL
    arrivals = [Arrival(order, f"replay:{payload.channel}", payload.digest) for order in orders]
    result = await ingest_orders(IngestOrders(arrivals, now, [payload]), database.new_uow)
    outcome = summary(result)
    async with database.new_uow() as uow:
        await uow.dead_letters.mark_replayed(letter_id, at=now, result=outcome)
        await uow.commit()
    print(f"dead letter {letter_id} replayed: {outcome}", file=out)
    return EXIT_FAIL if result.rejected else EXIT_OK
