"""Use case: a tap on a suspected-duplicate card (不是重复 / 确认重复).

Called by ``click_card`` inside its unit of work once ``decide_click`` accepted the tap (staff
role, card not stale). Everything below commits with the card's new version in that one
transaction, so a double tap acts once (the second finds a newer card, or the open proposal).

* 不是重复: the anomaly is resolved (the order is no longer held by it), an
  ``anomaly_resolved`` event goes on the order, every other copy of the card (an escalated
  supervisor's) is closed and the escalation timers are cancelled.
* 确认重复 by someone who may only *propose* a merge (an agent): a gated ``merge`` proposal is
  opened (``open_gate``: the card with both orders masked and the 90-day accuracy goes to the
  supervisors, the expiry timer is set); every copy of the duplicate card shows the waiting
  proposal without buttons. The supervisor's 确认 merges once (``decide_gate``); 拒绝 or no
  decision leaves both orders and gives the duplicate cards their buttons back
  (``handlers.duplicate_cards``): a rejected merge does not say the orders are different (the
  wrong one may have been kept, or the buyer wants both), so the anomaly stays open and the
  duplicate stays held until someone decides 不是重复 or proposes again.
* 确认重复 by someone who may *decide* a merge (a supervisor, per ``[gating]
  merge_deciders``): they are the person the proposal would go to, so asking them to confirm
  their own tap on a second card (or waiting for a colleague the policy does not require)
  would only delay the order. The system's suggestion is filed as a proposal and decided by
  them in the same transaction, through the same gate code: the merge runs once, the
  decision is on both orders' traces and counts in the accuracy line like any other.

While a merge proposal is open for the order, neither button acts (the supervisor decides).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

from core.anomalies import Anomaly, AnomalyStatus, Resolution
from core.anomaly_cards import closed, closing_status
from core.cards import ActionSpec, CardRecord, Verb, mark_handled
from core.chat import CardAction
from core.clock import shanghai_text
from core.duplicate_views import awaiting_merge, merge_evidence, merge_reason, reopened
from core.errors import ConcurrencyError
from core.gate_views import decided_card
from core.gating import GateError, GateKind, GateState, Proposal, Verdict, policy_for
from core.people import Person
from handlers.anomaly_actions import release_deferred
from handlers.anomaly_cards import cancel_timers, close_cards, order_event
from handlers.chat_deps import ChatDeps
from handlers.decide_gate import settle
from handlers.duplicate_cards import hold_for_merge, not_done_note
from handlers.ports import ChatUnitOfWork
from handlers.propose_gate import GateRequest, open_gate

log = logging.getLogger("orderbot.anomalies")
GONE = "该疑似重复已处理，无需再操作。"


@dataclass(frozen=True, slots=True)
class DuplicateTap:
    """Either a reply for the tapper (the card stays as it is) or the tapped card's new
    record (the click flow stores it with a version check and updates every holder)."""

    reply: str = ""
    updated: CardRecord | None = None


async def tap_duplicate(uow: ChatUnitOfWork, action: CardAction, record: CardRecord,
                        person: Person, spec: ActionSpec, deps: ChatDeps, *,
                        now: datetime) -> DuplicateTap:
    anomaly = await uow.anomalies.get(int(record.ref)) if record.ref.isdigit() else None
    if anomaly is None or anomaly.id is None or anomaly.status is not AnomalyStatus.OPEN:
        return DuplicateTap(updated=closed(record, "已处理", now, None))  # a stale leftover
    pending = await uow.gates.open_for(GateKind.MERGE, anomaly.order_key)
    if pending is not None:
        decider = bool(policy_for(deps.gates, GateKind.MERGE).deciders & person.roles)
        return DuplicateTap(reply=_waiting(pending, decider))
    await uow.anomalies.touch(anomaly.id, at=now)
    verb = Verb(action.ref.verb) if action.ref else Verb.NOT_DUPLICATE
    if verb is Verb.NOT_DUPLICATE:
        return DuplicateTap(updated=await _not_duplicate(uow, record, anomaly, person, spec,
                                                         deps, now))
    return await _confirm(uow, record, anomaly, person, deps, now)


async def _not_duplicate(uow: ChatUnitOfWork, record: CardRecord, anomaly: Anomaly,
                         person: Person, spec: ActionSpec, deps: ChatDeps,
                         now: datetime) -> CardRecord:
    """Resolve like any anomaly: every other copy closed, the SLA timers cancelled, a status
    the channel sent while the order was held applied (``release_deferred``)."""
    assert anomaly.id is not None
    updated = mark_handled(record, person, spec, now)
    if not await uow.anomalies.resolve(anomaly.id, at=now, by=person.id,
                                       how=Resolution.MANUAL):
        raise ConcurrencyError(f"anomaly {anomaly.id} resolved meanwhile")  # retried: told
    await order_event(uow, anomaly.order_key, person.id, "anomaly_resolved",
                      {"anomaly_id": anomaly.id, "code": anomaly.code.value,
                       "decision": "not_duplicate", "resolution": Resolution.MANUAL.value,
                       "card_id": record.card_id, "via": "card"}, now)
    await close_cards(uow, anomaly, updated.card.status, person.id, now, skip=record.card_id)
    await cancel_timers(uow, anomaly, deps.anomalies.routing.rule(anomaly.code))
    await release_deferred(uow, anomaly.order_key, person.id, deps, now)
    return updated


async def _confirm(uow: ChatUnitOfWork, record: CardRecord, anomaly: Anomaly, person: Person,
                   deps: ChatDeps, now: datetime) -> DuplicateTap:
    decider = bool(policy_for(deps.gates, GateKind.MERGE).deciders & person.roles)
    try:
        proposal = await open_gate(uow, await _request(uow, anomaly),
                                   None if decider else person, deps, now=now,
                                   notify=not decider)
    except GateError as error:  # nothing was written: say why (no role, order gone ...)
        log.info("merge for %s by %s refused: %s", anomaly.order_key, person.id, error)
        return DuplicateTap(reply=error.reply)
    assert proposal.id is not None
    if not decider:
        await hold_for_merge(uow, anomaly, proposal, person.name, deps, now,
                             skip=record.card_id)
        log.info("merge #%s proposed by %s for %s", proposal.id, person.id, anomaly.order_key)
        return DuplicateTap(updated=awaiting_merge(record, person.name, proposal.id,
                                                   proposal.deadline, now))
    final = await settle(uow, proposal, Verdict.CONFIRM, person, deps, now=now,
                         skip=record.card_id)
    await _store_decided_gate_card(uow, final, person, now)
    if final.state is GateState.EXECUTED:
        status = closing_status(person.name, "确认重复", now)
        done = closed(record, status, now, person.id)
        body = f"{done.card.body}\n结果：{final.note}" if final.note else done.card.body
        return DuplicateTap(updated=replace(done, card=replace(done.card, body=body)))
    return DuplicateTap(updated=reopened(record, anomaly, not_done_note(final, person.name,
                                                                        now)))


async def _request(uow: ChatUnitOfWork, anomaly: Anomaly) -> GateRequest:
    """The merge: cancel the anomaly's order (the one stored second) into the other one."""
    keep = str(anomaly.data.get("other", ""))
    orders = await uow.orders.load_many([k for k in (anomaly.order_key, keep) if k])
    duplicate, kept = orders.get(anomaly.order_key), orders.get(keep)
    evidence = merge_evidence(duplicate.order, kept.order if kept else None, anomaly) \
        if duplicate is not None else ()
    return GateRequest(GateKind.MERGE, merge_reason(anomaly), order_key=anomaly.order_key,
                       params={"keep": keep}, evidence=evidence)


async def _store_decided_gate_card(uow: ChatUnitOfWork, proposal: Proposal, person: Person,
                                   now: datetime) -> None:
    """The gate card nobody was sent still reads as decided (queries, audits)."""
    record = await uow.cards.get(proposal.card_id) if proposal.card_id else None
    if record is not None and not await uow.cards.replace(
            decided_card(record, proposal, person.name), expected_version=record.version,
            at=now):
        raise ConcurrencyError(f"gate card {record.card_id} changed within its transaction")


def _waiting(proposal: Proposal, decider: bool) -> str:
    text = (f"订单 {proposal.order_key} 的「{proposal.label}」提议 #{proposal.id} 正等待主管"
            f"决定（截止 {shanghai_text(proposal.deadline)}）")
    return text + (f"，请在「待确认：{proposal.label}」卡片上确认或拒绝。" if decider else "。")
