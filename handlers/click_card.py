"""Use case: someone tapped a button on one of our cards.

Order of checks (DESIGN step 5): who is tapping (the staff table, never the click), then
``core.cards.decide_click`` (the verb exists for this card, the role allows it, the card is not
stale or already handled). Only then the effect, in one transaction with: the order event, the
card's new version (compare-and-set: of two simultaneous taps one wins, the other is told who
handled it) and an update of the card for everyone who holds it. A double tap acts once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from core.card_views import order_detail
from core.cards import (
    ActionSpec,
    CardKind,
    CardRecord,
    Outcome,
    Verb,
    decide_click,
    mark_handled,
    rerender,
)
from core.chat import ActionRef, CardAction
from core.errors import ConcurrencyError
from core.outbox import Outgoing, card_message, text_message
from core.people import REFUSAL_UNKNOWN_STAFF, Person
from handlers.anomaly_actions import act as act_on_anomaly
from handlers.anomaly_actions import allowed_roles
from handlers.chat_deps import ChatDeps, send_text
from handlers.decide_gate import decide_gate
from handlers.duplicate_actions import tap_duplicate
from handlers.ports import ChatUnitOfWork
from handlers.task_changes import tap_task

log = logging.getLogger("orderbot.cards")
ATTEMPTS = 3
GONE = "这张卡片已失效，请重新查询。"

Effect = Callable[[ChatUnitOfWork, CardRecord, Person, ActionSpec, datetime],
                  Awaitable[CardRecord]]


async def click_card(action: CardAction, deps: ChatDeps, *, now: datetime) -> None:
    person = deps.directory.staff(action.platform, action.actor_id)
    if person is None:
        log.warning("click by unknown %s user on card %s", action.platform, action.card_id)
        await send_text(deps, action.platform, action.actor_id, REFUSAL_UNKNOWN_STAFF, at=now)
        return
    ref = action.ref
    if ref is None:
        log.warning("click with an unparseable payload on card %s ignored", action.card_id)
        return
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await _apply(action, ref, person, deps, now)
            break
        except ConcurrencyError as error:  # someone acted first: re-read, they'll be named
            if attempt == ATTEMPTS:
                raise
            log.info("card %s: retry after write race: %s", ref.id, error)
    deps.queued()


async def _apply(action: CardAction, ref: ActionRef, person: Person, deps: ChatDeps,
                 now: datetime) -> None:
    async with deps.new_uow() as uow:
        record = await uow.cards.get(ref.id)
        if record is None:
            await _tell(uow, action, GONE, now)
            return
        if record.kind is CardKind.GATE:  # roles and state come from the gate (policy, CAS)
            await _gate(uow, action, record, ref, person, deps, now)
            return
        if record.kind is CardKind.TASK:  # roles and state come from the task (CAS)
            await _task(uow, action, record, ref, person, deps, now)
            return
        handler = deps.directory.name_of(record.handled_by or "")
        allowed = await allowed_roles(uow, record, deps) \
            if record.kind is CardKind.ANOMALY else None  # the anomaly's route decides
        decision = decide_click(record, ref.verb, person, action.card_version, handler,
                                allowed)
        log.info("card %s %s by %s: %s", record.card_id, ref.verb, person.id, decision.outcome)
        if decision.outcome is not Outcome.ACCEPTED or decision.spec is None:
            await _tell(uow, action, decision.reply, now)
            return
        if record.kind is CardKind.SUSPECTED_DUPLICATE:  # may open a gated merge
            await _duplicate(uow, action, record, person, decision.spec, deps, now)
            return
        if record.kind is CardKind.ANOMALY:  # handlers/anomaly_actions (needs the action)
            updated = await act_on_anomaly(uow, action, record, person, decision.spec, deps,
                                           now)
        else:
            updated = await EFFECTS[(record.kind, Verb(ref.verb))](uow, record, person,
                                                                   decision.spec, now)
        await _settle(uow, action, record, updated, "", now)


async def _gate(uow: ChatUnitOfWork, action: CardAction, record: CardRecord, ref: ActionRef,
                person: Person, deps: ChatDeps, now: datetime) -> None:
    """A supervisor decides a gated action (``handlers/decide_gate``)."""
    result = await decide_gate(uow, record, ref.verb, person, deps, now=now)
    await _settle(uow, action, record, result.updated, result.reply, now)


async def _duplicate(uow: ChatUnitOfWork, action: CardAction, record: CardRecord,
                     person: Person, spec: ActionSpec, deps: ChatDeps, now: datetime) -> None:
    """不是重复 / 确认重复 (``handlers/duplicate_actions``: the merge goes through the gate)."""
    result = await tap_duplicate(uow, action, record, person, spec, deps, now=now)
    await _settle(uow, action, record, result.updated, result.reply, now)


async def _task(uow: ChatUnitOfWork, action: CardAction, record: CardRecord, ref: ActionRef,
                person: Person, deps: ChatDeps, now: datetime) -> None:
    """认领 / 完成 / 升级 on a chat task (``handlers/task_changes``)."""
    result = await tap_task(uow, action, record, ref.verb, person, deps, now=now)
    # result.then: the escalated card to supervisors
    await _settle(uow, action, record, result.updated, result.reply, now, then=result.then)


async def _settle(uow: ChatUnitOfWork, action: CardAction, record: CardRecord,
                  updated: CardRecord | None, reply: str, now: datetime,
                  then: Sequence[Outgoing] = ()) -> None:
    """End a tap: no new card -> only ``reply`` to the tapper; else store the card if nobody
    changed it since it was loaded (else retry), update every holder, queue ``then``, commit."""
    if updated is None:
        await _tell(uow, action, reply, now)
        return
    if not await uow.cards.replace(updated, expected_version=record.version, at=now):
        raise ConcurrencyError(f"card {record.card_id} changed since it was loaded")
    await _update_holders(uow, action, updated, now)
    if then:
        await uow.outbox.add(list(then), at=now)
    await uow.commit()


async def _tell(uow: ChatUnitOfWork, action: CardAction, text: str, now: datetime) -> None:
    await uow.outbox.add([text_message(action.platform, action.actor_id, text)], at=now)
    await uow.commit()


async def _update_holders(uow: ChatUnitOfWork, action: CardAction, record: CardRecord,
                          now: datetime) -> None:
    """The new card for every conversation holding it; the clicker's platform handle (WeCom
    ResponseCode) goes with the clicker's own copy."""
    updates = []
    for platform, conversation in await uow.outbox.holders(record.card_id):
        mine = (platform, conversation) == (action.platform, action.actor_id)
        updates.append(card_message(platform, conversation, record.card, update=True,
                                    order_key=record.order_key,
                                    update_token=action.update_token if mine else ""))
    await uow.outbox.add(updates, at=now)


# --- effects, one per (card kind, verb) ---------------------------------------------------

async def _refresh(uow: ChatUnitOfWork, record: CardRecord, person: Person, spec: ActionSpec,
                   now: datetime) -> CardRecord:
    """Reload the order (a view: no order event, the order is not changed)."""
    stored = await uow.orders.get(record.ref)
    if stored is None:
        return record
    fresh = order_detail(record.card_id, stored.order, await uow.anomalies.for_order(record.ref))
    return rerender(record, fresh.card)


async def _handled(uow: ChatUnitOfWork, record: CardRecord, person: Person, spec: ActionSpec,
                   now: datetime) -> CardRecord:
    """Dead letter acknowledged by ops (no order behind it: the card row is the record)."""
    return mark_handled(record, person, spec, now)


EFFECTS: dict[tuple[CardKind, Verb], Effect] = {
    (CardKind.ORDER_DETAIL, Verb.REFRESH): _refresh,
    (CardKind.DEAD_LETTER, Verb.HANDLED): _handled,
}
