"""Use case: propose a gated action (the system, or an agent typing "申请取消 1234 原因").

In one transaction: the proposal, a ``gate_proposed`` event on its order, the card (with the
evidence and the kind's 90-day accuracy) and an outbox row to every person who may decide it.
The expiry is a durable timer (``gate.expire``) set in the same transaction, so it survives
restarts. Nothing reaches a chat platform unless all of it committed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.anomalies import AnomalyClass
from core.chat import InboundMessage
from core.clock import shanghai_text
from core.gate_commands import GateCommand
from core.gate_effects import decision_event
from core.gate_views import gate_card
from core.gating import (
    GateError,
    GateInputError,
    GateKind,
    Proposal,
    accuracy_line,
    accuracy_since,
    expiry_timer,
    policy_for,
    propose,
)
from core.outbox import card_message, text_message
from core.people import Person
from handlers.chat_deps import ChatDeps, reply_to, to_people
from handlers.ports import ChatUnitOfWork

log = logging.getLogger("orderbot.gates")


@dataclass(frozen=True, slots=True)
class GateRequest:
    """What someone wants done; ``order_key`` is a full ``channel:id`` key."""

    kind: GateKind
    reason: str
    order_key: str | None = None
    subject: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[tuple[str, str], ...] = ()


async def open_gate(uow: ChatUnitOfWork, request: GateRequest, proposer: Person | None,
                    deps: ChatDeps, *, now: datetime, notify: bool = True) -> Proposal:
    """Write the proposal and its card inside the caller's unit of work (the caller commits).
    Raises ``GateError`` (with a ``reply`` for the person) when it may not be proposed.
    ``notify`` False: the card is stored but sent to nobody, for a proposal its caller
    decides in the same transaction (a supervisor's own 确认重复: ``duplicate_actions``)."""
    policy = policy_for(deps.gates, request.kind)
    proposal = propose(request.kind, proposer=proposer, reason=request.reason, at=now,
                       policy=policy, order_key=request.order_key, subject=request.subject,
                       params=request.params, evidence=request.evidence)
    stored = None
    if proposal.order_key:
        stored = (await uow.orders.load_many([proposal.order_key])).get(proposal.order_key)
        if stored is None:
            raise GateInputError(f"order {proposal.order_key} not found",
                                 f"没有找到订单 {proposal.order_key}。")
        await _refuse_second(uow, proposal)
    proposal = replace(proposal, card_id=deps.new_card_id("gate"))
    proposal = replace(proposal, id=await uow.gates.add(proposal))
    if stored is not None:
        event = decision_event(proposal, stored, "gate_proposed", actor=proposal.proposer,
                               at=now)
        await uow.orders.save_change(stored, stored.order, [event], at=now)
    accuracy = await uow.gates.accuracy(proposal.kind, since=accuracy_since(now))
    proposer_name = proposer.name if proposer else "系统"
    record = gate_card(proposal.card_id or "", proposal, accuracy_line(proposal.kind, accuracy),
                       stored.order if stored else None, proposer_name)
    await uow.cards.add(record, at=now)
    await uow.timers.set([expiry_timer(proposal)], at=now)
    deciders = [p for p in deps.directory.people if p.roles & policy.deciders] \
        if notify else []
    await uow.outbox.add([card_message(platform, conversation, record.card,
                                       order_key=record.order_key)
                          for platform, conversation in to_people(deciders, deps.platforms)],
                         at=now)
    log.info("gate #%s %s proposed by %s for %s -> %d decider(s)", proposal.id, proposal.kind,
             proposal.proposer, proposal.order_key or proposal.subject, len(deciders))
    return proposal


async def _refuse_second(uow: ChatUnitOfWork, proposal: Proposal) -> None:
    """One open proposal per kind and order: a second tap or message must not ask twice."""
    existing = await uow.gates.open_for(proposal.kind, proposal.order_key or "")
    if existing is not None:
        raise GateInputError(
            f"gate #{existing.id} already open for {proposal.order_key}",
            f"订单 {proposal.order_key} 已有待确认的「{proposal.label}」提议 #{existing.id}，"
            f"截止 {shanghai_text(existing.deadline)}。")


async def propose_gate(request: GateRequest, proposer: Person | None, deps: ChatDeps, *,
                       now: datetime) -> Proposal:
    """``open_gate`` in a transaction of its own (the system proposing, the demo)."""
    async with deps.new_uow() as uow:
        proposal = await open_gate(uow, request, proposer, deps, now=now)
        await uow.commit()
    deps.queued()
    return proposal


async def propose_from_chat(message: InboundMessage, person: Person, command: GateCommand,
                            deps: ChatDeps, *, now: datetime) -> None:
    """An agent typed a proposal: find the order, propose, and tell them what happens next
    (or why not) in the same transaction."""
    where = (message.platform, reply_to(message))
    async with deps.new_uow() as uow:
        ref = command.ref
        keys = await uow.orders.find(ref) if ref else []
        try:
            if len(keys) != 1:
                raise GateInputError(f"order ref {ref!r} matched {len(keys)}",
                                     _not_one(ref, keys))
            request = GateRequest(command.kind, command.reason, order_key=keys[0],
                                  params=await _params(uow, command.kind, keys[0]))
            proposal = await open_gate(uow, request, person, deps, now=now)
            text = (f"已提交「{proposal.label}」提议 #{proposal.id}（订单 {proposal.order_key}），"
                    f"等待主管确认，截止 {shanghai_text(proposal.deadline)}。")
        except GateError as error:
            log.info("gate proposal by %s refused: %s", person.id, error)
            text = error.reply
        await uow.outbox.add([text_message(*where, text)], at=now)
        await uow.commit()
    deps.queued()


async def _params(uow: ChatUnitOfWork, kind: GateKind, key: str) -> dict[str, Any]:
    """What a typed command leaves implicit: a release names the freeze holding the order."""
    if kind is not GateKind.RELEASE:
        return {}
    frozen = [a for a in await uow.anomalies.for_order(key)
              if a.holds_order and a.klass is AnomalyClass.C and a.id is not None]
    if not frozen:
        raise GateInputError(f"{key} is not frozen",
                             f"订单 {key} 没有被冻结（无未解决的 C 类异常）。")
    return {"anomaly_id": frozen[0].id}


def _not_one(ref: str, keys: Iterable[str]) -> str:
    if not ref:
        return "请带上订单号，例如：申请取消 1234567890 客户要求取消。"
    found = list(keys)
    if found:
        return f"订单号 {ref} 在多个渠道都有，请带上渠道再发一次：" + "、".join(found[:5])
    return f"没有找到订单 {ref}。"
