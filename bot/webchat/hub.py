"""Live delivery to open web chat pages, and the web chat's ``ChatSender``.

Each open page subscribes to its person's conversation; the outbox sender delivers a row by
publishing it to every subscriber. A page that is not open misses nothing: when it opens it
reads the conversation's history from the outbox, and dedups by outbox id.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

from core.outbox import OutboxItem

log = logging.getLogger("orderbot.webchat")
QUEUE_SIZE = 1000


def event_of(item: OutboxItem) -> dict[str, Any]:
    """The JSON a page receives for one outbox row."""
    message = item.message
    return {"id": item.id, "kind": message.kind.value, "card_id": message.card_id,
            "payload": dict(message.payload), "at": item.created_at.isoformat()}


class Hub:
    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, conversation: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._subscribers[conversation].add(queue)
        return queue

    def unsubscribe(self, conversation: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers[conversation].discard(queue)

    def publish(self, conversation: str, event: dict[str, Any]) -> int:
        """Hand ``event`` to every open page of ``conversation``; a page too slow to keep up
        loses live events (it reloads history on reconnect), never blocks the sender."""
        delivered = 0
        for queue in list(self._subscribers.get(conversation, ())):
            try:
                queue.put_nowait(event)
                delivered += 1
            except asyncio.QueueFull:
                log.warning("web chat page of %s is not keeping up; event dropped", conversation)
        return delivered


class WebchatSender:
    """``ChatSender`` for the web chat: delivered = published to the open pages (if any)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def deliver(self, item: OutboxItem, reference: str | None) -> str | None:
        self._hub.publish(item.message.conversation, event_of(item))
        return None
