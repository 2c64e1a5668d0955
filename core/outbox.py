"""Outbound chat messages (the outbox) and the retry arithmetic of their delivery.

A handler never talks to a chat platform: it writes ``Outgoing`` rows in the same transaction
as the domain change that caused them, so a crash or a platform outage loses nothing. The
sender delivers them per conversation strictly in order; a failed head waits with exponential
backoff (plus jitter, so a recovering platform is not hit by every conversation at once).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from core.chat import Card, card_from_json, card_to_json


class OutKind(StrEnum):
    TEXT = "text"  # plain text reply
    CARD = "card"  # a new interactive card
    CARD_UPDATE = "card_update"  # new content for a card the conversation already holds


class OutStatus(StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    SENDING = "sending"  # claimed by a sender until next_attempt_at (its lease)
    SENT = "sent"
    FAILED = "failed"  # refused for good (bad recipient ...): the conversation moves on


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to deliver. ``conversation`` is the platform's address: a user id for 1:1,
    a group id for groups, a person id on the web chat."""

    platform: str
    conversation: str
    kind: OutKind
    payload: Mapping[str, Any]
    card_id: str | None = None
    order_key: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """An outbox row as the sender sees it."""

    id: int
    message: Outgoing
    attempts: int
    created_at: datetime
    delivery_ref: str | None = None

    @property
    def conversation_key(self) -> tuple[str, str]:
        return self.message.platform, self.message.conversation


@dataclass(frozen=True, slots=True)
class Sent:
    """A delivered row: when the platform took it, and its handle of it (if it gave one)."""

    item: OutboxItem
    at: datetime
    delivery_ref: str | None = None


def text_message(platform: str, conversation: str, text: str, *,
                 order_key: str | None = None) -> Outgoing:
    return Outgoing(platform, conversation, OutKind.TEXT, {"text": text}, order_key=order_key)


def card_message(platform: str, conversation: str, card: Card, *, update: bool = False,
                 order_key: str | None = None, update_token: str = "") -> Outgoing:
    """A card (or an update of it). ``update_token`` is the clicker's platform handle, if any."""
    payload: dict[str, Any] = {"card": card_to_json(card)}
    if update_token:
        payload["update_token"] = update_token
    kind = OutKind.CARD_UPDATE if update else OutKind.CARD
    return Outgoing(platform, conversation, kind, payload, card.card_id, order_key)


def card_of(message: Outgoing) -> Card:
    """The card a CARD / CARD_UPDATE message carries."""
    return card_from_json(message.payload["card"])


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before attempt ``n + 1`` after ``n`` failures: ``base * 2**(n-1)`` capped, with
    up to ``jitter`` of it added at random."""

    base_s: float = 1.0
    cap_s: float = 300.0
    jitter: float = 0.2
    rand: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def delay(self, failures: int) -> timedelta:
        raw = min(self.cap_s, self.base_s * 2 ** max(failures - 1, 0))
        return timedelta(seconds=raw * (1 + self.jitter * self.rand()))

    def next_attempt(self, failures: int, now: datetime) -> datetime:
        return now + self.delay(failures)


def latency_ms(created_at: datetime, sent_at: datetime) -> int:
    """Delivery latency as recorded on the row (and the bench's ``card_delivery_p99_ms``)."""
    return max(0, round((sent_at - created_at).total_seconds() * 1000))
