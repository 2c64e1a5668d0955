"""Use cases: acting on an anomaly card, and closing an anomaly.

* "已补录" (A): the bot asks the tapper, in that conversation, for the value ("请直接回复收货
  地址"); their next message there is the fix (``answer_prompt``, called by ``receive_text``):
  the order is updated (event), the anomaly resolved, every card of it closed, its timers
  cancelled. Chat cards take free text poorly on DingTalk/WeCom, so the reply is the input.
* "替换为 X" (B): the order's lines now carry X (event), resolved as a one-tap suggestion.
* "已处理" (B without a suggestion): resolved by hand.
* ``resolve_anomaly``: close one by id (the gating helper's "release a frozen order" calls it
  once a supervisor confirmed).
* ``release_deferred``: after a blocking anomaly closes, the channel status (or carrier scan)
  the order was sent while held applies in the same transaction (``handlers.held_status``).
* ``close_for_ended_order``: an order that ended (cancelled, refunded: by its channel, or by a
  supervisor's confirmed cancel) has nothing left to fix; its open anomalies close.

Who may tap is the anomaly's route (owner and escalation chain), checked before any effect.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from core.anomalies import Anomaly, AnomalyCode, AnomalyStatus, Resolution
from core.anomaly_cards import FIX_FIELDS, SUB_VERBS, closed, closing_status, substitutes
from core.cards import ActionSpec, CardRecord, Verb
from core.chat import CardAction, InboundMessage
from core.errors import DomainError
from core.events import append_event
from core.fixes import FixValueError, apply_fix
from core.held_status import CARRIER
from core.outbox import text_message
from core.people import Person, Role
from core.prompts import QUESTIONS, Prompt
from core.states import OrderState, label
from core.substitution import SubstitutionError, substitute
from handlers.anomaly_cards import cancel_timers, close_cards
from handlers.chat_deps import ChatDeps, reply_to
from handlers.held_status import apply_deferred_status
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")
GONE = "该异常已处理，无需再操作。"


async def allowed_roles(uow: ChatUnitOfWork, record: CardRecord, deps: ChatDeps
                        ) -> frozenset[Role]:
    """Who may act on an anomaly card: its route's owner and escalation chain."""
    anomaly = await uow.anomalies.get(int(record.ref))
    if anomaly is None:
        return frozenset()
    rule = deps.anomalies.routing.rule(anomaly.code)
    return frozenset({rule.owner, *rule.chain})


async def act(uow: ChatUnitOfWork, action: CardAction, record: CardRecord, person: Person,
              spec: ActionSpec, deps: ChatDeps, now: datetime) -> CardRecord:
    """The effect of an accepted tap on an anomaly card; returns the card's new record."""
    anomaly = await uow.anomalies.get(int(record.ref))
    if anomaly is None or anomaly.status is not AnomalyStatus.OPEN:
        await uow.outbox.add([text_message(action.platform, action.actor_id, GONE)], at=now)
        return _closed_record(record, now)
    await uow.anomalies.touch(anomaly.id or 0, at=now)
    verb = Verb(action.ref.verb) if action.ref else Verb.RESOLVE
    if verb is Verb.FIX:
        return await _ask(uow, action, record, person, anomaly, deps, now)
    if verb in SUB_VERBS:
        return await _substitute(uow, record, person, spec, anomaly, SUB_VERBS.index(verb),
                                 deps, now)
    await _resolve(uow, anomaly, person.id, Resolution.MANUAL,
                   closing_status(person.name, spec.done, now), deps, now,
                   skip=record.card_id)
    return _closed_record(record, now, closing_status(person.name, spec.done, now), person.id)


def _closed_record(record: CardRecord, now: datetime, status: str = "已处理",
                   by: str | None = None) -> CardRecord:
    return closed(record, status, now, by)


async def _ask(uow: ChatUnitOfWork, action: CardAction, record: CardRecord, person: Person,
               anomaly: Anomaly, deps: ChatDeps, now: datetime) -> CardRecord:
    """Remember the question and ask it; the card itself does not change (version kept,
    the click flow stores it unchanged)."""
    field = FIX_FIELDS[anomaly.code]
    ttl = deps.anomalies.prompt_ttl_s
    await uow.prompts.put(Prompt(action.platform, action.actor_id, person.id, record.card_id,
                                 anomaly.id or 0, field, now + timedelta(seconds=ttl)))
    question = QUESTIONS[field].format(minutes=max(1, round(ttl / 60)))
    await uow.outbox.add([text_message(action.platform, action.actor_id,
                                       f"订单 {anomaly.order_key}：{question}")], at=now)
    return record


async def _substitute(uow: ChatUnitOfWork, record: CardRecord, person: Person,
                      spec: ActionSpec, anomaly: Anomaly, index: int, deps: ChatDeps,
                      now: datetime) -> CardRecord:
    offered = substitutes(anomaly)
    sku = str(anomaly.data.get("sku", ""))
    if index >= len(offered):
        return record
    status = closing_status(person.name, f"替换为 {offered[index]}", now)
    stored = (await uow.orders.load_many([anomaly.order_key])).get(anomaly.order_key)
    if stored is None:
        return record
    try:
        changed = substitute(stored.order, sku, offered[index])
    except SubstitutionError as error:
        log.warning("substitute on %s: %s", anomaly.order_key, error)
        return record
    event = append_event(stored.head, anomaly.order_key, at=now, actor=person.id,
                         kind="lines_substituted",
                         data={"anomaly_id": anomaly.id, "from": sku, "to": offered[index],
                               "card_id": record.card_id, "via": "card"})
    await uow.orders.save_change(stored, changed, [event], at=now)
    await _resolve(uow, anomaly, person.id, Resolution.SUGGESTION, status, deps, now,
                   skip=record.card_id)
    return _closed_record(record, now, status, person.id)


async def _resolve(uow: ChatUnitOfWork, anomaly: Anomaly, by: str, how: Resolution,
                   status: str, deps: ChatDeps, now: datetime, *, skip: str = "") -> bool:
    """Resolve (one winner), record it on the order, close the cards, cancel the timers."""
    assert anomaly.id is not None
    if not await uow.anomalies.resolve(anomaly.id, at=now, by=by, how=how):
        return False
    stored = (await uow.orders.load_many([anomaly.order_key])).get(anomaly.order_key)
    if stored is not None:
        event = append_event(stored.head, anomaly.order_key, at=now, actor=by,
                             kind="anomaly_resolved",
                             data={"anomaly_id": anomaly.id, "code": anomaly.code.value,
                                   "resolution": how.value})
        await uow.orders.save_change(stored, stored.order, [event], at=now)
    await close_cards(uow, anomaly, status, by, now, skip=skip)
    await cancel_timers(uow, anomaly, deps.anomalies.routing.rule(anomaly.code))
    if anomaly.blocking:
        await release_deferred(uow, anomaly.order_key, by, deps, now)
    return True


async def release_deferred(uow: ChatUnitOfWork, key: str, by: str, deps: ChatDeps,
                           now: datetime) -> None:
    """The order may no longer be held: apply the channel status it was sent meanwhile, and
    close the stall that move answers (as ``auto``, like any resolution: cards, timers)."""
    answered, via = await apply_deferred_status(uow, key, by=by, now=now)
    who = "快递扫描" if via == CARRIER else "渠道报告"
    for anomaly in answered:
        await resolve_anomaly(uow, anomaly.id or 0, actor="system", how=Resolution.AUTO,
                              deps=deps, now=now, done=f"自动关闭（{who}订单已流转）")


async def close_for_ended_order(uow: ChatUnitOfWork, key: str, state: OrderState, *,
                                said: str, deps: ChatDeps, now: datetime,
                                actor: Person | str = "system",
                                how: Resolution = Resolution.AUTO,
                                anomalies: Sequence[Anomaly] | None = None) -> list[Anomaly]:
    """Close every open anomaly of an order that ended (``state``: cancelled, refunded):
    nothing is left to fix, release or ship, and an open freeze would only escalate to people
    who can do nothing. Like any resolution: order event, every card closed (its status names
    the state and who ended it: ``said``, e.g. 渠道报告), escalation timers cancelled. Returns
    the anomalies closed. ``anomalies``: the order's open ones when the caller has them."""
    done = f"{'自动' if how is Resolution.AUTO else ''}关闭（{said}订单「{label(state)}」）"
    if anomalies is None:
        anomalies = await uow.health.open_anomalies([key], list(AnomalyCode))
    closed_now: list[Anomaly] = []
    for anomaly in anomalies:
        if anomaly.id is not None and await resolve_anomaly(uow, anomaly.id, actor=actor,
                                                            how=how, deps=deps, now=now,
                                                            done=done):
            closed_now.append(anomaly)
    for anomaly in closed_now:
        log.info("anomaly %s %s on %s closed: %s %s", anomaly.id, anomaly.code.value, key,
                 said, state.value)
    return closed_now


async def resolve_anomaly(uow: ChatUnitOfWork, anomaly_id: int, *, actor: Person | str,
                          how: Resolution, deps: ChatDeps, now: datetime,
                          done: str = "处理") -> bool:
    """Close an open anomaly by id in the caller's unit of work (e.g. a confirmed gated
    "release frozen order": ``how=Resolution.GATED``). False when it was not open. An order
    whose last blocking anomaly closes is no longer held."""
    anomaly = await uow.anomalies.get(anomaly_id)
    if anomaly is None or anomaly.status is not AnomalyStatus.OPEN:
        return False
    person_id = actor.id if isinstance(actor, Person) else actor
    name = actor.name if isinstance(actor, Person) else deps.directory.name_of(actor)
    return await _resolve(uow, anomaly, person_id, how, closing_status(name, done, now),
                          deps, now)


async def answer_prompt(message: InboundMessage, person: Person, deps: ChatDeps, *,
                        now: datetime) -> bool:
    """If the bot asked this person a question in this conversation, ``message`` is the
    answer: apply it. False when nothing was asked (the message is handled as usual)."""
    conversation = reply_to(message)
    async with deps.new_uow() as uow:
        prompt = await uow.prompts.pop(message.platform, conversation, now=now)
        if prompt is None or prompt.person_id != person.id:
            return False
        reply = await _apply_answer(uow, prompt, message.text, person, deps, now)
        await uow.outbox.add([text_message(message.platform, conversation, reply)], at=now)
        await uow.commit()
    deps.queued()
    return True


async def _apply_answer(uow: ChatUnitOfWork, prompt: Prompt, text: str, person: Person,
                        deps: ChatDeps, now: datetime) -> str:
    anomaly = await uow.anomalies.get(prompt.anomaly_id)
    if anomaly is None or anomaly.status is not AnomalyStatus.OPEN:
        return GONE
    stored = (await uow.orders.load_many([anomaly.order_key])).get(anomaly.order_key)
    if stored is None:
        return GONE
    try:
        fixed = apply_fix(stored.order, prompt.field, text)
    except (FixValueError, DomainError) as error:
        await uow.prompts.put(prompt)  # ask again: the question stays open
        return str(error)
    event = append_event(stored.head, anomaly.order_key, at=now, actor=person.id,
                         kind="order_fixed",
                         data={"anomaly_id": anomaly.id, "field": prompt.field,
                               "card_id": prompt.card_id, "via": "chat_reply"})
    await uow.orders.save_change(stored, fixed, [event], at=now)
    await _resolve(uow, anomaly, person.id, Resolution.MANUAL,
                   closing_status(person.name, "补录", now), deps, now)
    log.info("anomaly %s fixed by %s (%s)", anomaly.id, person.id, prompt.field)
    return f"已补录，订单 {anomaly.order_key} 已更新，异常已关闭。"
