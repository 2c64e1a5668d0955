"""Use case: nobody decided a gated action by its deadline -> it expires, nothing is executed,
every holder's card says so and the proposer is told.

The handler of timer kind ``gate.expire`` (``handlers/timers``): the timer is set in the
transaction that files the proposal and taken in the transaction that expires it, so it fires
once in effect and survives restarts. The state change is the same compare-and-set as a
confirmation: a supervisor tapping 确认 in the very second the deadline passes and the timer
race, and exactly one of them wins (the decision also cancels the timer).
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.errors import ConcurrencyError
from core.gate_views import expired_card
from core.gating import GateError, GateState, expire
from core.outbox import card_message
from core.timers import Timer
from handlers.chat_deps import ChatDeps
from handlers.decide_gate import record_decision, tell_proposer
from handlers.duplicate_cards import merge_not_done
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.gates")


async def expire_gate(uow: ChatUnitOfWork, timer: Timer, deps: ChatDeps, *,
                      now: datetime) -> bool:
    """Expire the timer's proposal if it is open and due; False when there was nothing to do
    (decided meanwhile, not due yet, gone). Inside the timer's unit of work (it commits)."""
    proposal_id = int(timer.ref)
    proposal = await uow.gates.get(proposal_id)
    if proposal is None:
        log.warning("gate timer %s: proposal #%s does not exist", timer.key, proposal_id)
        return False
    try:
        expired = expire(proposal, at=now)
    except GateError as error:
        log.info("gate #%s not expired: %s", proposal_id, error)
        return False
    if not await uow.gates.transition(expired, expected=GateState.PROPOSED):
        return False  # a decision won the race: it owns the card and the notices
    await record_decision(uow, expired, "gate_expired", "system", now)
    await tell_proposer(uow, expired, "", deps, now=now)
    await merge_not_done(uow, expired, "", now)  # a duplicate still needs a decision
    record = await uow.cards.get(expired.card_id) if expired.card_id else None
    if record is not None:
        updated = expired_card(record, expired, now)
        if not await uow.cards.replace(updated, expected_version=record.version, at=now):
            raise ConcurrencyError(f"card {record.card_id} changed while expiring")
        await uow.outbox.add([card_message(platform, conversation, updated.card, update=True,
                                           order_key=updated.order_key)
                              for platform, conversation
                              in await uow.outbox.holders(record.card_id)], at=now)
    log.info("gate #%s %s expired (deadline %s)", proposal_id, proposal.kind, proposal.deadline)
    return True
