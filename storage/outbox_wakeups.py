"""Wake the outbox sender of another process when rows are queued (PostgreSQL LISTEN/NOTIFY).

Outbox rows are mostly written by ``orderbot worker`` processes (ingestion announcing cards)
while the sender runs in ``orderbot run``: the in-process ``OutboxSender.wake`` cannot reach it,
so it found those rows at its next poll only (``poll_s``, 0.2 s: up to 0.2 s added to a card).
``SqlOutbox.add`` issues ``NOTIFY`` in the writer's transaction: PostgreSQL delivers it at
commit (never for a rolled-back transaction) and folds one transaction's repeats into one.
``listen`` holds one connection that LISTENs and calls ``wake`` (the same ``wake`` a local
commit calls). While that connection is down the sender's poll still finds every row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

CHANNEL = "orderbot_outbox"
NOTIFY = f"NOTIFY {CHANNEL}"

log = logging.getLogger("orderbot.outbox")


async def listen(url: str, wake: Callable[[], None], *, retry_s: float = 5.0) -> None:
    """Until cancelled: call ``wake`` for every notification on ``CHANNEL`` of the PostgreSQL
    database at ``url`` (a ``postgresql+asyncpg://`` URL); reconnect after ``retry_s`` when the
    connection cannot be made or drops, waking once on each (re)connection for whatever was
    committed while nobody listened."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    while True:
        try:
            await _listen_once(dsn, wake)
        except Exception as error:  # whatever broke the connection: the poll covers, retry
            log.warning("outbox wake-ups: no LISTEN connection (%s); polling meanwhile",
                        type(error).__name__)
        await asyncio.sleep(retry_s)


async def _listen_once(dsn: str, wake: Callable[[], None]) -> None:
    connection = await asyncpg.connect(dsn, timeout=10)
    lost = asyncio.Event()

    def on_notify(*_: Any) -> None:
        wake()

    connection.add_termination_listener(lambda _: lost.set())
    try:
        await connection.add_listener(CHANNEL, on_notify)
        wake()
        await lost.wait()
        log.warning("outbox wake-ups: LISTEN connection lost; polling meanwhile")
    finally:
        connection.terminate()  # no round trip: cancellation must not wait on the network
