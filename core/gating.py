"""Gated actions: what the system or an agent may only *propose* and a supervisor must confirm.

Cancel, refund, merge duplicates, change the address after allocation, release a frozen order,
delist a product. A ``Proposal`` moves through one small state machine::

    proposed -> confirmed -> executed | failed
    proposed -> rejected
    proposed -> expired          (nobody decided by the deadline)

``failed`` is a confirmed proposal whose effect could not be carried out any more (the order was
shipped while the card waited): the supervisor was right to confirm, the world moved on.

Who may propose and who may decide is per kind (``GatePolicy``, configurable); the system itself
may always propose. Every rule here is pure: the handlers load, call, and store what comes back
with a conditional UPDATE on the state, so two simultaneous confirmations have one winner.

The card shows how often this kind of proposal was right: confirmed / decided over the last 90
days (``accuracy_line``). With no decided proposal yet it says so instead of a made-up 0 or 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from core.clock import require_aware
from core.errors import DomainError
from core.people import ROLE_LABELS, Person, Role
from core.timers import Timer, TimerKind

SYSTEM = "system"  # the proposer id of proposals the system itself makes
ACCURACY_WINDOW = timedelta(days=90)


class GateKind(StrEnum):
    CANCEL = "cancel"
    REFUND = "refund"
    MERGE = "merge"
    CHANGE_ADDRESS = "change_address"
    RELEASE = "release"
    DELIST = "delist"


KIND_LABELS: Mapping[GateKind, str] = {
    GateKind.CANCEL: "取消订单", GateKind.REFUND: "退款", GateKind.MERGE: "合并重复订单",
    GateKind.CHANGE_ADDRESS: "分仓后改地址", GateKind.RELEASE: "解冻订单",
    GateKind.DELIST: "商品下架",
}  # fmt: skip


class GateState(StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    EXECUTED = "executed"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"


S = GateState
TRANSITIONS: Mapping[GateState, frozenset[GateState]] = {
    S.PROPOSED: frozenset({S.CONFIRMED, S.REJECTED, S.EXPIRED}),
    S.CONFIRMED: frozenset({S.EXECUTED, S.FAILED}),
    S.EXECUTED: frozenset(), S.FAILED: frozenset(), S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}  # fmt: skip
CONFIRMED_STATES: frozenset[GateState] = frozenset({S.CONFIRMED, S.EXECUTED, S.FAILED})
DECIDED_STATES: frozenset[GateState] = CONFIRMED_STATES | {S.REJECTED}


class Verdict(StrEnum):
    CONFIRM = "confirm"
    REJECT = "reject"


# --- errors: ``reply`` is what the person is told, the message is for the log -------------

class GateError(DomainError):
    """A gated-action rule said no. ``reply`` is the polite Chinese sentence for the person."""

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class GateInputError(GateError):
    """A proposal is incomplete (a cancel without an order, an address change without one)."""


class GateForbiddenError(GateError):
    """The person does not hold a role this kind of proposal needs."""


class GateClosedError(GateError):
    """The proposal was already decided (or expired): ``decided_by`` says by whom."""

    def __init__(self, message: str, reply: str, state: GateState,
                 decided_by: str | None) -> None:
        super().__init__(message, reply)
        self.state = state
        self.decided_by = decided_by


class GateTransitionError(GateError):
    """A state change the gate state machine does not have (a bug in the caller)."""


# --- policy --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class GatePolicy:
    """Per kind: who may propose (the system always may), who may decide, how long the
    decision may take, and who does the work by hand when orderbot cannot (refund, delist)."""

    deciders: frozenset[Role] = frozenset({Role.SUPERVISOR})
    proposers: frozenset[Role] = frozenset({Role.AGENT, Role.SUPERVISOR})
    deadline: timedelta = timedelta(minutes=30)
    handwork_role: Role | None = None

    def __post_init__(self) -> None:
        if not self.deciders:
            raise ValueError("a gate needs at least one deciding role")
        if self.deadline <= timedelta(0):
            raise ValueError(f"gate deadline must be positive: {self.deadline}")


DEFAULT_POLICIES: Mapping[GateKind, GatePolicy] = {
    GateKind.CANCEL: GatePolicy(deadline=timedelta(minutes=30)),
    GateKind.REFUND: GatePolicy(deadline=timedelta(hours=2), handwork_role=Role.FINANCE),
    GateKind.MERGE: GatePolicy(deadline=timedelta(hours=1)),
    GateKind.CHANGE_ADDRESS: GatePolicy(deadline=timedelta(minutes=30)),
    GateKind.RELEASE: GatePolicy(deadline=timedelta(hours=1)),
    GateKind.DELIST: GatePolicy(deadline=timedelta(hours=4), handwork_role=Role.OPS),
}


def policy_for(policies: Mapping[GateKind, GatePolicy], kind: GateKind) -> GatePolicy:
    return policies.get(kind) or DEFAULT_POLICIES[kind]


def _roles_text(roles: Iterable[Role]) -> str:
    return "或".join(ROLE_LABELS[r] for r in sorted(roles))


# --- the proposal --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Proposal:
    """One gated action waiting for (or past) a decision. ``params`` say exactly what the
    action does (``keep`` for a merge, ``receiver`` for an address change, ``anomaly_id`` for a
    release, ``amount_fen`` for a refund); ``evidence`` is what the card shows as the why."""

    kind: GateKind
    proposer: str
    reason: str
    proposed_at: datetime
    deadline: datetime
    order_key: str | None = None
    subject: str | None = None  # what a delist is about (a SKU)
    params: Mapping[str, Any] = field(default_factory=dict)
    evidence: tuple[tuple[str, str], ...] = ()
    state: GateState = GateState.PROPOSED
    decided_by: str | None = None
    decided_at: datetime | None = None
    executed_at: datetime | None = None
    note: str | None = None  # why it was rejected / failed, or what was done
    card_id: str | None = None  # the card the deciders hold
    id: int | None = None

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def by_system(self) -> bool:
        return self.proposer == SYSTEM


_NEEDS_ORDER = frozenset(GateKind) - {GateKind.DELIST}


def propose(kind: GateKind, *, proposer: Person | None, reason: str, at: datetime,
            policy: GatePolicy, order_key: str | None = None, subject: str | None = None,
            params: Mapping[str, Any] | None = None,
            evidence: Iterable[tuple[str, str]] = ()) -> Proposal:
    """A new proposal; ``proposer`` None is the system. Raises ``GateForbiddenError`` for a
    person without a proposing role, ``GateInputError`` for an incomplete proposal."""
    at = require_aware(at, "at")
    if proposer is not None and not policy.proposers & proposer.roles:
        raise GateForbiddenError(
            f"{proposer.id} may not propose {kind}",
            f"抱歉，提出{KIND_LABELS[kind]}需要{_roles_text(policy.proposers)}权限。")
    values = dict(params or {})
    _check_input(kind, order_key, subject, values, reason)
    return Proposal(kind, proposer.id if proposer else SYSTEM, reason.strip(), at,
                    at + policy.deadline, order_key, subject, values, tuple(evidence))


def _check_input(kind: GateKind, order_key: str | None, subject: str | None,
                 params: Mapping[str, Any], reason: str) -> None:
    def need(ok: bool, what: str, reply: str) -> None:
        if not ok:
            raise GateInputError(f"{kind}: {what}", reply)

    label = KIND_LABELS[kind]
    need(bool(reason.strip()), "reason is required", f"请写明{label}的原因。")
    need(kind not in _NEEDS_ORDER or bool(order_key), "an order is required",
         f"{label}需要指定订单。")
    if kind is GateKind.DELIST:
        need(bool(subject), "a SKU is required", "商品下架需要指定商品编码（SKU）。")
    if kind is GateKind.MERGE:
        keep = params.get("keep")
        need(isinstance(keep, str) and bool(keep) and keep != order_key,
             "params.keep must name the other order", "合并需要指定保留的另一张订单。")
    if kind is GateKind.CHANGE_ADDRESS:
        receiver = params.get("receiver")
        need(isinstance(receiver, Mapping) and bool(receiver.get("address")),
             "params.receiver.address is required", "改地址需要新的详细地址。")
    if kind is GateKind.RELEASE:
        need(type(params.get("anomaly_id")) is int, "params.anomaly_id is required",
             "解冻需要指定冻结该订单的异常。")
    if kind is GateKind.REFUND and "amount_fen" in params:
        amount = params["amount_fen"]
        need(type(amount) is int and amount > 0, "params.amount_fen must be positive fen",
             "退款金额必须大于 0。")


def check_transition(source: GateState, target: GateState) -> None:
    if target not in TRANSITIONS[source]:
        raise GateTransitionError(f"illegal gate transition {source} -> {target}",
                                  "这个操作现在不能进行。")


def decide(proposal: Proposal, verdict: Verdict, person: Person, *, policy: GatePolicy,
           at: datetime, decided_by_name: str = "") -> Proposal:
    """Confirm or reject. Checks, in this order: the person's role (server-side, from the
    staff table), that nobody decided already, and that the deadline has not passed."""
    at = require_aware(at, "at")
    if not policy.deciders & person.roles:
        raise GateForbiddenError(
            f"{person.id} may not decide {proposal.kind} #{proposal.id}",
            f"抱歉，{proposal.label}需要{_roles_text(policy.deciders)}确认，您没有此权限。")
    if proposal.state is not GateState.PROPOSED:
        raise closed_error(proposal, decided_by_name or proposal.decided_by or "")
    if at >= proposal.deadline:
        raise GateClosedError(f"gate #{proposal.id} is past its deadline",
                              "此提议已过期，未执行。", GateState.EXPIRED, None)
    target = GateState.CONFIRMED if verdict is Verdict.CONFIRM else GateState.REJECTED
    return replace(proposal, state=target, decided_by=person.id, decided_at=at)


def closed_error(proposal: Proposal, decided_by_name: str) -> GateClosedError:
    """The refusal for a tap on a proposal that is no longer open."""
    if proposal.state is GateState.EXPIRED:
        reply = "此提议已过期，未执行。"
    else:
        reply = f"此卡片已由 {decided_by_name} 处理"
    return GateClosedError(f"gate #{proposal.id} is {proposal.state}", reply, proposal.state,
                           proposal.decided_by)


def finish(proposal: Proposal, *, at: datetime, ok: bool, note: str) -> Proposal:
    """A confirmed proposal after its effect: executed, or failed with the reason."""
    target = GateState.EXECUTED if ok else GateState.FAILED
    check_transition(proposal.state, target)
    return replace(proposal, state=target, executed_at=require_aware(at, "at"), note=note)


def expiry_timer(proposal: Proposal) -> Timer:
    """The durable timer (kind ``gate.expire``) that expires ``proposal`` at its deadline; set
    with the proposal, cancelled with its decision, in the same transactions."""
    return Timer(f"gate:{proposal.id}", TimerKind.GATE_EXPIRE, str(proposal.id),
                 proposal.deadline)


def expire(proposal: Proposal, *, at: datetime) -> Proposal:
    """No decision by the deadline. Raises ``GateClosedError`` when it was decided meanwhile,
    ``GateTransitionError`` when the deadline has not come yet."""
    at = require_aware(at, "at")
    if proposal.state is not GateState.PROPOSED:
        raise closed_error(proposal, proposal.decided_by or "")
    if at < proposal.deadline:
        raise GateTransitionError(f"gate #{proposal.id} is not due until {proposal.deadline}",
                                  "此提议尚未到期。")
    return replace(proposal, state=GateState.EXPIRED, note="截止前无人决定")


# --- historical accuracy -------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Accuracy:
    """Of the proposals of one kind decided in the window: how many were confirmed."""

    confirmed: int
    decided: int

    def __post_init__(self) -> None:
        if not 0 <= self.confirmed <= self.decided:
            raise ValueError(f"confirmed {self.confirmed} must be within 0..{self.decided}")


def accuracy_since(now: datetime) -> datetime:
    """Start of the accuracy window: decisions at or after this count."""
    return require_aware(now, "now") - ACCURACY_WINDOW


def tally(states: Iterable[GateState]) -> Accuracy:
    """Accuracy from the states of the proposals decided in the window (expired ones and open
    ones are not decisions and do not count)."""
    confirmed = decided = 0
    for state in states:
        decided += state in DECIDED_STATES
        confirmed += state in CONFIRMED_STATES
    return Accuracy(confirmed, decided)


def accuracy_line(kind: GateKind, accuracy: Accuracy) -> str:
    """"取消订单 建议准确率 92.4% (157/170)"; honest when nothing was decided yet."""
    label = KIND_LABELS[kind]
    if accuracy.decided == 0:
        return f"{label} 建议准确率：近 90 天尚无已决定的提议，暂无数据"
    percent = 100 * accuracy.confirmed / accuracy.decided
    return f"{label} 建议准确率 {percent:.1f}% ({accuracy.confirmed}/{accuracy.decided})"
