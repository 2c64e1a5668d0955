"""Use case: a supervisor tapped 确认 or 拒绝 on a gated-action card.

Called by ``click_card`` inside its unit of work once it knows who is tapping. Checks, in
order: the proposal exists; the person holds a deciding role for this kind (from the staff
table and the gate policy, never from the click); it is still open and not past its deadline.
Then the first write of the transaction is the compare-and-set ``proposed -> confirmed`` (or
``-> rejected``): of twenty simultaneous taps exactly one gets past it, the others raise
``ConcurrencyError``, are retried by ``click_card`` and are told who decided. The effect (order
events, a state change through the state machine, anomalies closed with all their cards and
timers, a hand-off message; a merge that did not happen re-opens the duplicate cards), the
``confirmed -> executed | failed`` step, the proposer's notice and the card's new version all
commit in that same transaction (an order the decision cancelled has its other open anomalies
closed too, as when its channel cancels it: ``close_for_ended_order``): a crash before the
commit leaves nothing, a redelivered click after it finds the proposal decided. One
execution, whatever happens.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from core.anomalies import Anomaly, Resolution
from core.anomaly_cards import closing_status
from core.cards import CardRecord, Verb
from core.errors import ConcurrencyError
from core.gate_effects import (
    EffectInput,
    GateEffectError,
    decision_event,
    involved_orders,
    plan_effect,
)
from core.gate_views import decided_card, proposer_notice
from core.gating import (
    GateError,
    GateState,
    Proposal,
    Verdict,
    decide,
    expiry_timer,
    finish,
    policy_for,
)
from core.outbox import text_message
from core.people import Person
from core.states import TERMINAL
from handlers.anomaly_actions import close_for_ended_order, release_deferred
from handlers.anomaly_cards import cancel_timers, close_cards
from handlers.chat_deps import ChatDeps, to_people
from handlers.duplicate_cards import merge_not_done
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.gates")

GONE = "此提议已不存在，请重新查询。"
_VERDICTS = {Verb.GATE_CONFIRM.value: Verdict.CONFIRM, Verb.GATE_REJECT.value: Verdict.REJECT}


@dataclass(frozen=True, slots=True)
class GateClick:
    """Either a reply for the tapper (nothing was written) or the card after the decision
    (the caller stores it with a version check, updates every holder and commits)."""

    reply: str = ""
    updated: CardRecord | None = None


async def decide_gate(uow: ChatUnitOfWork, record: CardRecord, verb: str, person: Person,
                      deps: ChatDeps, *, now: datetime) -> GateClick:
    verdict = _VERDICTS.get(verb)
    proposal = await uow.gates.get(int(record.ref)) if record.ref.isdigit() else None
    if verdict is None or proposal is None:
        return GateClick(reply="这个按钮已不可用。" if verdict is None else GONE)
    try:
        final = await settle(uow, proposal, verdict, person, deps, now=now)
    except GateError as error:
        log.info("gate #%s %s by %s refused: %s", proposal.id, verb, person.id, error)
        return GateClick(reply=error.reply)
    return GateClick(updated=decided_card(record, final, person.name))


async def settle(uow: ChatUnitOfWork, proposal: Proposal, verdict: Verdict, person: Person,
                 deps: ChatDeps, *, now: datetime, skip: str = "") -> Proposal:
    """Decide ``proposal`` as ``person`` and carry it out, in the caller's unit of work: the
    compare-and-set, the expiry timer cancelled, the effect, the proposer told, the cards of
    the anomaly behind a merge that did not happen re-opened. Raises ``GateError`` (nothing
    written) when the person may not decide or it is closed; the caller updates the gate
    card (``decided_card``) if there is one. ``skip``: an anomaly card the caller updates
    itself (the duplicate card a supervisor merged from)."""
    decided = decide(proposal, verdict, person, at=now,
                     policy=policy_for(deps.gates, proposal.kind),
                     decided_by_name=deps.directory.name_of(proposal.decided_by or ""))
    if not await uow.gates.transition(decided, expected=GateState.PROPOSED):
        raise ConcurrencyError(f"gate #{proposal.id} was decided by someone else first")
    await uow.timers.cancel([expiry_timer(proposal).key])
    if verdict is Verdict.REJECT:
        final = await _rejected(uow, decided, person, now)
    else:
        final = await _execute(uow, decided, person, deps, now, skip)
    log.info("gate #%s %s by %s: %s", final.id, final.kind, person.id, final.state)
    await tell_proposer(uow, final, person.name, deps, now=now)
    if final.state is not GateState.EXECUTED:
        await merge_not_done(uow, final, person.name, now, skip=skip)
    return final


async def _rejected(uow: ChatUnitOfWork, proposal: Proposal, person: Person,
                    now: datetime) -> Proposal:
    await record_decision(uow, proposal, "gate_rejected", person.id, now)
    return proposal


async def _execute(uow: ChatUnitOfWork, proposal: Proposal, person: Person, deps: ChatDeps,
                   now: datetime, skip: str = "") -> Proposal:
    """Carry the confirmed action out (or record why it cannot be), then ``executed|failed``."""
    orders = await uow.orders.load_many(involved_orders(proposal))  # locked on PostgreSQL
    anomalies = await uow.anomalies.for_order(proposal.order_key) if proposal.order_key else []
    loaded = EffectInput(orders, anomalies, person.name)
    try:
        plan = plan_effect(proposal, loaded, actor=person.id, at=now)
    except GateEffectError as error:
        final = finish(proposal, at=now, ok=False, note=error.reply)
        await record_decision(uow, final, "gate_failed", person.id, now, {"why": error.reply})
    else:
        for change in plan.changes:
            await uow.orders.save_change(change.stored, change.order, change.events, at=now)
        await _close_anomalies(uow, proposal, plan.resolve, anomalies, person, deps, now,
                               skip)
        for change in plan.changes:  # cancelled (or merged away): nothing left to fix
            if change.order.status in TERMINAL and change.stored.order.status not in TERMINAL:
                await close_for_ended_order(uow, change.order.key, change.order.status,
                                            said="主管确认", deps=deps, now=now, actor=person,
                                            how=Resolution.GATED)
        await _hand_over(uow, proposal, plan.handwork, deps, now)
        final = finish(proposal, at=now, ok=True, note=plan.summary)
    if not await uow.gates.transition(final, expected=GateState.CONFIRMED):
        raise ConcurrencyError(f"gate #{proposal.id} left 'confirmed' inside our transaction")
    return final


async def _close_anomalies(uow: ChatUnitOfWork, proposal: Proposal, ids: Iterable[int],
                           anomalies: Iterable[Anomaly], person: Person, deps: ChatDeps,
                           now: datetime, skip: str) -> None:
    """Resolve the anomalies the effect closes and, like any resolution, close every card of
    them (the agent's, an escalated supervisor's copy), cancel their escalation timers and let
    a released order take the channel status it was sent while held (``release_deferred``)."""
    by_id = {a.id: a for a in anomalies}
    status = closing_status(person.name, f"确认{proposal.label}", now)
    for anomaly_id in ids:
        if not await uow.anomalies.resolve(anomaly_id, at=now, by=person.id,
                                           how=Resolution.GATED):
            continue
        anomaly = by_id.get(anomaly_id)
        if anomaly is not None:
            await close_cards(uow, anomaly, status, person.id, now, skip=skip)
            await cancel_timers(uow, anomaly, deps.anomalies.routing.rule(anomaly.code))
            if anomaly.blocking:
                await release_deferred(uow, anomaly.order_key, person.id, deps, now)


async def _hand_over(uow: ChatUnitOfWork, proposal: Proposal, text: str, deps: ChatDeps,
                     now: datetime) -> None:
    """Refund / delist: the people of the policy's handwork role get exact instructions."""
    role = policy_for(deps.gates, proposal.kind).handwork_role
    if not text or role is None:
        return
    people = deps.directory.with_role(role)
    if not people:
        log.warning("gate #%s: nobody has role %s to do it by hand", proposal.id, role)
    await uow.outbox.add([text_message(platform, conversation, text,
                                       order_key=proposal.order_key)
                          for platform, conversation in to_people(people, deps.platforms)],
                         at=now)


async def record_decision(uow: ChatUnitOfWork, proposal: Proposal, kind: str, actor: str,
                       now: datetime, extra: dict[str, str] | None = None) -> None:
    """A decision that changes nothing else is still an event on the order (if it has one)."""
    key = proposal.order_key
    stored = (await uow.orders.load_many([key])).get(key) if key else None
    if stored is not None:
        event = decision_event(proposal, stored, kind, actor=actor, at=now, extra=extra)
        await uow.orders.save_change(stored, stored.order, [event], at=now)


async def tell_proposer(uow: ChatUnitOfWork, proposal: Proposal, decider_name: str,
                        deps: ChatDeps, *, now: datetime) -> None:
    """The person who proposed hears the outcome (the system proposer has nobody to tell)."""
    person = None if proposal.by_system else deps.directory.get(proposal.proposer)
    if person is None:
        return
    text = proposer_notice(proposal, decider_name)
    await uow.outbox.add([text_message(platform, conversation, text,
                                       order_key=proposal.order_key)
                          for platform, conversation in to_people([person], deps.platforms)],
                         at=now)
