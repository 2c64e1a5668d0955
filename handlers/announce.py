"""Cards that go to people unasked: a suspected duplicate (to agents), a dead letter (to ops).

Called inside the caller's unit of work, so the card and its outbox rows commit together with
the anomaly or dead letter behind them.
"""

from __future__ import annotations

from datetime import datetime

from core.anomalies import Anomaly
from core.card_views import dead_letter, suspected_duplicate
from core.cards import CardRecord
from core.outbox import card_message
from core.people import Role
from handlers.chat_deps import ChatDeps, to_people
from handlers.ports import ChatUnitOfWork


async def announce_duplicate(uow: ChatUnitOfWork, anomaly: Anomaly, deps: ChatDeps, *,
                             now: datetime) -> CardRecord:
    record = suspected_duplicate(deps.new_card_id("dup"), anomaly)
    await _send(uow, record, Role.AGENT, deps, now)
    return record


async def announce_dead_letter(uow: ChatUnitOfWork, letter_id: int, source: str, reason: str,
                               deps: ChatDeps, *, now: datetime) -> CardRecord:
    record = dead_letter(deps.new_card_id("dl"), letter_id, source, reason, now)
    await _send(uow, record, Role.OPS, deps, now)
    return record


async def _send(uow: ChatUnitOfWork, record: CardRecord, role: Role, deps: ChatDeps,
                now: datetime) -> None:
    await uow.cards.add(record, at=now)
    recipients = to_people(deps.directory.with_role(role), deps.platforms)
    await uow.outbox.add([card_message(platform, conversation, record.card,
                                       order_key=record.order_key)
                          for platform, conversation in recipients], at=now)
