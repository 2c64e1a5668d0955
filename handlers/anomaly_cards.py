"""Small shared steps of the anomaly use cases: send a card to a role, update a card for every
holder, close every card of an anomaly, append an order event. All inside the caller's unit
of work, so cards and outbox rows commit with the change behind them."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from core.anomalies import Anomaly, AnomalyCode
from core.anomaly_cards import anomaly_card, closed
from core.card_views import suspected_duplicate
from core.cards import CardKind, CardRecord
from core.errors import ConcurrencyError
from core.events import append_event
from core.outbox import card_message
from core.people import Role
from core.routing import RouteRule
from core.timers import escalation_key
from handlers.chat_deps import ChatDeps, to_people
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")
KINDS = (CardKind.ANOMALY, CardKind.SUSPECTED_DUPLICATE)


def view(deps: ChatDeps, anomaly: Anomaly, rule: RouteRule, role: Role,
         due_at: datetime | None, escalated_from: Role | None = None) -> CardRecord:
    """The card for ``role``: duplicates keep their own card (its buttons have their effects)."""
    if anomaly.code is AnomalyCode.SUSPECTED_DUPLICATE:
        record = suspected_duplicate(deps.new_card_id("dup"), anomaly)
        if escalated_from is None:
            return record
        card = record.card
        fields = (*card.fields, ("升级", "客服超时未处理，已升级给您"))
        return replace(record, card=replace(card, title="【升级】" + card.title, fields=fields))
    return anomaly_card(deps.new_card_id("an"), anomaly, rule, role=role, due_at=due_at,
                        escalated_from=escalated_from)


async def send_to_role(uow: ChatUnitOfWork, record: CardRecord, role: Role, deps: ChatDeps,
                       now: datetime) -> int:
    """Store the card and queue it for everyone holding ``role``; how many got it."""
    await uow.cards.add(record, at=now)
    recipients = to_people(deps.directory.with_role(role), deps.platforms)
    if not recipients:
        log.warning("no staff with role %s for card %s", role.value, record.card_id)
    await uow.outbox.add([card_message(platform, conversation, record.card,
                                       order_key=record.order_key)
                          for platform, conversation in recipients], at=now)
    return len(recipients)


async def update_everywhere(uow: ChatUnitOfWork, record: CardRecord, expected_version: int,
                            now: datetime, *, tokens: Mapping[tuple[str, str], str] | None = None
                            ) -> None:
    """Store the new rendering (compare-and-set) and queue it to every holder; ``tokens``:
    a platform handle for one holder's copy (the clicker's WeCom ResponseCode)."""
    if not await uow.cards.replace(record, expected_version=expected_version, at=now):
        raise ConcurrencyError(f"card {record.card_id} changed since it was loaded")
    updates = [card_message(platform, conversation, record.card, update=True,
                            order_key=record.order_key,
                            update_token=(tokens or {}).get((platform, conversation), ""))
               for platform, conversation in await uow.outbox.holders(record.card_id)]
    await uow.outbox.add(updates, at=now)


async def close_cards(uow: ChatUnitOfWork, anomaly: Anomaly, status: str, by: str | None,
                      now: datetime, *, skip: str = "",
                      tokens: Mapping[tuple[str, str], str] | None = None) -> None:
    """Every still-open card of the anomaly (agent's, supervisor's ...) shows ``status`` and
    loses its buttons; ``skip``: a card the caller updates itself."""
    for kind in KINDS:
        for record in await uow.cards.for_ref(kind, str(anomaly.id), anomaly.order_key):
            if record.handled_by is None and record.card_id != skip:
                await update_everywhere(uow, closed(record, status, now, by), record.version,
                                        now, tokens=tokens)


async def cancel_timers(uow: ChatUnitOfWork, anomaly: Anomaly, rule: RouteRule) -> None:
    """Every escalation timer the anomaly may have (one per level of its chain)."""
    assert anomaly.id is not None
    await uow.timers.cancel([escalation_key(anomaly.id, level)
                             for level in range(len(rule.chain) + 1)])


async def order_event(uow: ChatUnitOfWork, key: str, actor: str, kind: str,
                      data: dict[str, Any], now: datetime) -> None:
    """Append one event to the order (version-checked: a concurrent writer makes this fail
    with ``ConcurrencyError`` and the use case retries)."""
    stored = (await uow.orders.load_many([key])).get(key)
    if stored is None:
        return
    event = append_event(stored.head, key, at=now, actor=actor, kind=kind, data=data)
    await uow.orders.save_change(stored, stored.order, [event], at=now)
