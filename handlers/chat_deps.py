"""What the chat use cases need (ports and the staff table), and their small shared steps."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from core.audience import Audience
from core.card_pacing import Pacing
from core.chat import InboundMessage
from core.gating import DEFAULT_POLICIES, GateKind, GatePolicy
from core.health import HealthRules
from core.outbox import Outgoing, text_message
from core.people import Directory, Person
from core.routing import RoutingTable, default_table
from core.tasks import TaskSettings
from handlers.ports import ChatUnitOfWork

GROUP_PREFIX = "group:"


def random_card_id(prefix: str) -> str:
    """``od-1f3a...``: unique, and inside the ``act:v1`` reference alphabet."""
    return f"{prefix}-{uuid.uuid4().hex[:20]}"


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class CardSettings:
    """Cards sent unasked (``[cards]`` in config): who gets a card per new order (None: no
    such cards, the default) and how dead-letter cards to ops are paced."""

    new_order: Audience | None = None
    dead_letters: Pacing = field(default_factory=Pacing)


@dataclass(frozen=True, slots=True)
class AnomalySettings:
    """``[routing]`` and ``[substitutes]`` in config: who gets which anomaly and by when, which
    SKUs may replace an out-of-stock one, how long a "请回复..." question stays open, and the
    stalled-order scan (every ``stalled_scan_s``; 0 turns it off). ``health``: the ``[health]``
    rules ingestion checks every new or changed order with (None: no checks), ``stock``:
    whether the stock rule reads the stock snapshot table."""

    routing: RoutingTable = field(default_factory=default_table)
    substitutes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    prompt_ttl_s: float = 600.0
    stalled_scan_s: float = 600.0
    health: HealthRules | None = None
    stock: bool = True


@dataclass(frozen=True)
class ChatDeps:
    directory: Directory
    new_uow: Callable[[], ChatUnitOfWork]
    platforms: Sequence[str] = ("webchat",)  # where cards to people (ops, agents) go
    new_card_id: Callable[[str], str] = random_card_id
    queued: Callable[[], None] = field(default=_nothing)  # wakes the outbox sender
    gates: Mapping[GateKind, GatePolicy] = field(default_factory=lambda: DEFAULT_POLICIES)
    cards: CardSettings = field(default_factory=CardSettings)
    anomalies: AnomalySettings = field(default_factory=lambda: AnomalySettings())
    # chat tasks typed by staff ("急单 1234567"): owners and deadlines per kind ([tasks]), and
    # the confidence under which the bot asks back instead of acting ([intent])
    tasks: TaskSettings = field(default_factory=TaskSettings)
    ask_back_below: float = 0.6
    # customers' questions ("我的快递到哪了"), answered on these platforms (bot/tracking.py)
    customer_desk: Callable[[InboundMessage, datetime], Awaitable[str]] | None = None
    customer_platforms: frozenset[str] = frozenset({"webchat"})


def reply_to(message: InboundMessage) -> str:
    """The outbox address of the conversation a message came from."""
    if message.is_group:
        return GROUP_PREFIX + message.conversation_id
    return message.conversation_id or message.sender_id


def to_people(people: Sequence[Person], platforms: Sequence[str]) -> list[tuple[str, str]]:
    """(platform, address) for every person on every enabled platform they are on."""
    return [(platform, person.platform_id(platform)) for person in people
            for platform in platforms if person.platform_id(platform)]


async def send_text(deps: ChatDeps, platform: str, conversation: str, text: str, *,
                    at: datetime) -> None:
    """A reply outside any domain change (a refusal, "not found"): its own small transaction."""
    await queue(deps, [text_message(platform, conversation, text)], at=at)


async def queue(deps: ChatDeps, messages: Sequence[Outgoing], *, at: datetime) -> None:
    async with deps.new_uow() as uow:
        await uow.outbox.add(messages, at=at)
        await uow.commit()
    deps.queued()
