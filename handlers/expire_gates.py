"""Use case: nobody decided a gated action by its deadline -> it expires, nothing is executed,
every holder's card says so and the proposer is told.

``expire_gate`` works inside the caller's unit of work (a timer firing takes its timer in the
same transaction); ``expire_due_gates`` is the sweep: the deadline is stored on the proposal
(indexed with its state), so the sweep finds every overdue proposal after any restart. The
state change is the same compare-and-set as a confirmation: a supervisor tapping 确认 in the
very second the deadline passes and the sweep race, and exactly one of them wins.
"""

from __future__ import annotations

import logging
from datetime import datetime

from core.errors import ConcurrencyError
from core.gate_views import expired_card
from core.gating import GateError, GateState, expire
from core.outbox import card_message
from handlers.chat_deps import ChatDeps
from handlers.decide_gate import record_decision, tell_proposer
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.gates")


async def expire_gate(uow: ChatUnitOfWork, proposal_id: int, deps: ChatDeps, *,
                      now: datetime) -> bool:
    """Expire one proposal if it is open and due; False when there was nothing to do
    (decided meanwhile, not due yet, gone). The caller commits."""
    proposal = await uow.gates.get(proposal_id)
    if proposal is None:
        return False
    try:
        expired = expire(proposal, at=now)
    except GateError as error:
        log.info("gate #%s not expired: %s", proposal_id, error)
        return False
    if not await uow.gates.transition(expired, expected=GateState.PROPOSED):
        return False  # a decision won the race: it owns the card
    await record_decision(uow, expired, "gate_expired", "system", now)
    await tell_proposer(uow, expired, "", deps, now=now)
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


async def expire_due_gates(deps: ChatDeps, *, now: datetime, limit: int = 100) -> int:
    """Expire every overdue proposal, one transaction each; returns how many expired."""
    async with deps.new_uow() as uow:
        due = await uow.gates.due(now=now, limit=limit)
    expired = 0
    for proposal_id in due:
        try:
            async with deps.new_uow() as uow:
                if await expire_gate(uow, proposal_id, deps, now=now):
                    await uow.commit()
                    expired += 1
        except ConcurrencyError as error:  # a tap got there first: it decided
            log.info("gate #%s: expiry lost a race: %s", proposal_id, error)
    if expired:
        deps.queued()
    return expired
