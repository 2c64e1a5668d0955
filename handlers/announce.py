"""Cards that go to people unasked: a suspected duplicate (to agents), a dead letter (to ops,
paced: a few one by one per window, then a digest), a new order (optional, to whoever
``[cards] new_order_to`` names).

Called inside the caller's unit of work, so the card and its outbox rows commit together with
the anomaly, dead letter or order behind them (the outbox rule). The caller wakes the outbox
sender (``deps.queued()``) after its commit when a function here returned True.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.anomalies import Anomaly, AnomalyCode
from core.audience import Audience
from core.card_views import dead_letter, new_order, suspected_duplicate
from core.cards import CardKind, CardRecord
from core.order import Order
from core.outbox import card_message
from core.people import Role
from core.timers import escalation_timer
from handlers.chat_deps import ChatDeps, to_people
from handlers.ports import ChatUnitOfWork

DEAD_LETTER_WINDOWS = CardKind.DEAD_LETTER.value  # the card_windows kind of dead letters


@dataclass(frozen=True, slots=True)
class NewDeadLetter:
    """A dead letter just stored for the first time (a redelivered one is never announced)."""

    id: int
    source: str
    reason: str
    received_at: datetime


async def announce_ingest(uow: ChatUnitOfWork, *, opened: Sequence[Anomaly],
                          letters: Sequence[NewDeadLetter], created: Sequence[Order],
                          deps: ChatDeps, now: datetime) -> bool:
    """Everything one ingest batch tells people. A batch of healthy updates (the common case)
    costs three empty checks and no query."""
    told = False
    for anomaly in opened:
        if anomaly.code is AnomalyCode.SUSPECTED_DUPLICATE:
            await announce_duplicate(uow, anomaly, deps, now=now)
            told = True
    if letters:
        told = await announce_dead_letters(uow, letters, deps, now=now) or told
    audience = deps.cards.new_order
    if audience is not None and created:
        for order in created:
            await send_card(uow, new_order(deps.new_card_id("no"), order), audience, deps, now)
        told = True
    return told


async def announce_duplicate(uow: ChatUnitOfWork, anomaly: Anomaly, deps: ChatDeps, *,
                             now: datetime) -> CardRecord:
    """The card to the owning role of ``[routing]`` (agents by default) and, like any anomaly
    (``handlers.open_anomaly``), the SLA timer that escalates it when nobody taps in time."""
    rule = deps.anomalies.routing.rule(anomaly.code)
    record = suspected_duplicate(deps.new_card_id("dup"), anomaly)
    await send_card(uow, record, Audience(role=rule.owner), deps, now)
    due = rule.deadline(now, anomaly.level)
    if due is not None and anomaly.id is not None:
        await uow.timers.set([escalation_timer(anomaly.id, anomaly.level, due)], at=now)
    return record


async def announce_dead_letters(uow: ChatUnitOfWork, letters: Sequence[NewDeadLetter],
                                deps: ChatDeps, *, now: datetime) -> bool:
    """One card each for the window's first ``limit`` letters; the rest are only counted,
    for the digest sent when the window closes (``handlers.dead_letter_digest``)."""
    if not letters:
        return False
    pacing = deps.cards.dead_letters
    start = pacing.window_of(now)
    count = await uow.card_windows.hit(DEAD_LETTER_WINDOWS, start, len(letters))
    singles = pacing.one_by_one(count, len(letters))
    first = count - len(letters) + 1  # the window position of letters[0]
    for offset, letter in enumerate(letters[:singles]):
        more_later = pacing.window_end(start) if pacing.is_last_single(first + offset) else None
        record = dead_letter(deps.new_card_id("dl"), letter.id, letter.source, letter.reason,
                             letter.received_at, more_later=more_later)
        await send_card(uow, record, Audience(role=Role.OPS), deps, now)
    return singles > 0


def recipients(audience: Audience, deps: ChatDeps) -> list[tuple[str, str]]:
    """(platform, conversation) pairs for an audience, on the platforms enabled here."""
    if audience.role is not None:
        return to_people(deps.directory.with_role(audience.role), deps.platforms)
    if audience.platform in deps.platforms:
        return [(audience.platform, audience.conversation)]
    return []


async def send_card(uow: ChatUnitOfWork, record: CardRecord, audience: Audience, deps: ChatDeps,
                now: datetime) -> None:
    await uow.cards.add(record, at=now)
    await uow.outbox.add([card_message(platform, conversation, record.card,
                                       order_key=record.order_key)
                          for platform, conversation in recipients(audience, deps)], at=now)
