"""The suspected-duplicate cards around a merge proposal (steps inside the caller's unit of work).

* ``hold_for_merge``: an agent proposed the merge -> every other open copy of the anomaly's
  duplicate card (another agent's, an escalated supervisor's) shows the pending proposal and
  loses its buttons, and the anomaly's escalation timers are cancelled: it has an owner now,
  the proposal has its own deadline (``gate.expire``).
* ``merge_not_done``: the merge was rejected, expired or could not be carried out -> the
  anomaly is still open (both orders stay, the duplicate stays held), so its cards get their
  buttons back with a line saying what happened: someone must still decide 不是重复 or propose
  again. Called by ``decide_gate`` and ``expire_gates`` for every merge proposal.

A confirmed merge needs nothing here: ``decide_gate`` resolves the anomaly and closes all its
cards like any resolution (``handlers.anomaly_cards.close_cards``).
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.anomalies import Anomaly, AnomalyCode, AnomalyStatus
from core.cards import CardKind
from core.clock import SHANGHAI
from core.duplicate_views import awaiting_merge, reopened
from core.gating import GateKind, GateState, Proposal
from handlers.anomaly_cards import cancel_timers, update_everywhere
from handlers.chat_deps import ChatDeps
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.anomalies")


async def hold_for_merge(uow: ChatUnitOfWork, anomaly: Anomaly, proposal: Proposal,
                         proposer_name: str, deps: ChatDeps, now: datetime, *,
                         skip: str = "") -> None:
    """Every open duplicate card of ``anomaly`` but ``skip`` (the tapped one, which the click
    flow stores itself) shows the waiting proposal; the anomaly's SLA timers are cancelled."""
    assert proposal.id is not None
    for record in await uow.cards.for_ref(CardKind.SUSPECTED_DUPLICATE, str(anomaly.id),
                                          anomaly.order_key):
        if record.handled_by is None and record.card_id != skip:
            await update_everywhere(uow, awaiting_merge(record, proposer_name, proposal.id,
                                                        proposal.deadline, now),
                                    record.version, now)
    await cancel_timers(uow, anomaly, deps.anomalies.routing.rule(anomaly.code))


async def merge_not_done(uow: ChatUnitOfWork, proposal: Proposal, decider_name: str,
                         now: datetime, *, skip: str = "") -> int:
    """After a merge proposal ended without a merge: re-open the duplicate cards of the
    order's open SUSPECTED_DUPLICATE anomalies (but ``skip``, which the caller updates).
    Returns how many cards were re-opened."""
    if proposal.kind is not GateKind.MERGE or not proposal.order_key:
        return 0
    note = not_done_note(proposal, decider_name, now)
    count = 0
    for anomaly in await uow.anomalies.for_order(proposal.order_key):
        if anomaly.code is not AnomalyCode.SUSPECTED_DUPLICATE \
                or anomaly.status is not AnomalyStatus.OPEN:
            continue
        for record in await uow.cards.for_ref(CardKind.SUSPECTED_DUPLICATE, str(anomaly.id),
                                              anomaly.order_key):
            if record.handled_by is None and record.card_id != skip:
                await update_everywhere(uow, reopened(record, anomaly, note), record.version,
                                        now)
                count += 1
    log.info("merge #%s %s: %d duplicate card(s) re-opened", proposal.id, proposal.state,
             count)
    return count


def not_done_note(proposal: Proposal, decider_name: str, now: datetime) -> str:
    when = now.astimezone(SHANGHAI).strftime("%H:%M")
    if proposal.state is GateState.REJECTED:
        return f"#{proposal.id} 已被 {decider_name} 拒绝 {when}，两单均保留，请重新判断"
    if proposal.state is GateState.EXPIRED:
        return f"#{proposal.id} 截止前无人决定，已过期 {when}，请重新判断"
    return f"#{proposal.id} 已确认但未能执行：{proposal.note or '原因未知'}"
