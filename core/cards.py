"""Cards we sent and what their buttons may do: the record, the action table, the decision.

A card's buttons carry ``act:v1:<card_id>:<verb>`` only. When a click arrives, the card record
is reloaded and ``decide_click`` answers, in this order: is the verb one this kind of card has,
does the clicking person hold a role for it (from the staff table, never from the click), and
is the card still at the version the person saw (two supervisors tapping at once: one wins, the
other is told who handled it). Pure: handlers load, call this, and write what it returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from core.chat import Card
from core.clock import SHANGHAI
from core.people import ROLE_LABELS, Person, Role


class CardKind(StrEnum):
    ORDER_DETAIL = "order_detail"
    DEAD_LETTER = "dead_letter"
    SUSPECTED_DUPLICATE = "suspected_duplicate"
    GATE = "gate"  # a gated action for a supervisor to decide (core.gating, handlers/decide_gate)
    NEW_ORDER = "new_order"  # a notice: no buttons
    ANOMALY = "anomaly"  # an A/B/C anomaly card (core.anomaly_cards); roles from routing
    TASK = "task"  # a chat task (core.tasks): who may act is decided by core.tasks.may


class Verb(StrEnum):
    REFRESH = "refresh"
    HANDLED = "handled"
    NOT_DUPLICATE = "not_duplicate"
    CONFIRM_DUPLICATE = "confirm_duplicate"
    FIX = "fix"  # 已补录: the bot asks for the value, the reply fixes the order
    SUB_0 = "sub_0"  # 替换为 <first substitute>
    SUB_1 = "sub_1"
    SUB_2 = "sub_2"
    RESOLVE = "resolve"  # 已处理 (a B decision taken outside the bot)
    GATE_CONFIRM = "gate_confirm"  # roles come from the gate policy, not from ACTIONS
    GATE_REJECT = "gate_reject"
    CLAIM = "claim"  # task: 认领
    DONE = "done"  # task: 完成
    ESCALATE = "escalate"  # task: 升级 (to the supervisor)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    """What a verb needs (any one of ``roles``; empty = any staff) and how its status reads."""

    roles: frozenset[Role]
    done: str  # "确认" in "已由 张三 确认 10:42"
    final: bool = True  # the card is handled afterwards (its buttons go away)


_STAFF: frozenset[Role] = frozenset()
ACTIONS: Mapping[tuple[CardKind, Verb], ActionSpec] = {
    (CardKind.ORDER_DETAIL, Verb.REFRESH): ActionSpec(_STAFF, "刷新", final=False),
    (CardKind.DEAD_LETTER, Verb.HANDLED): ActionSpec(frozenset({Role.OPS}), "处理"),
    # duplicate cards: 确认重复 by an agent files a gated merge, by a supervisor (a merge
    # decider) it merges (handlers/duplicate_actions; the gate policy has the last word).
    # Not ``final``: the card keeps its buttons through updates (escalated, a merge rejected)
    # and a WeCom card updated in place keeps the version it was first sent with, so a
    # version check would refuse every later tap; the anomaly's state, the open merge
    # proposal and the card's compare-and-set refuse a repeated tap instead.
    (CardKind.SUSPECTED_DUPLICATE, Verb.NOT_DUPLICATE):
        ActionSpec(frozenset({Role.AGENT, Role.SUPERVISOR}), "确认不是重复", final=False),
    (CardKind.SUSPECTED_DUPLICATE, Verb.CONFIRM_DUPLICATE):
        ActionSpec(frozenset({Role.AGENT, Role.SUPERVISOR}), "确认重复", final=False),
    # anomaly cards: who may act is the anomaly's route (owner + escalation chain), passed to
    # decide_click as ``allowed`` by the click use case
    (CardKind.ANOMALY, Verb.FIX): ActionSpec(_STAFF, "补录", final=False),
    **{(CardKind.ANOMALY, verb): ActionSpec(_STAFF, "替换")
       for verb in (Verb.SUB_0, Verb.SUB_1, Verb.SUB_2)},
    (CardKind.ANOMALY, Verb.RESOLVE): ActionSpec(_STAFF, "处理"),
    # task cards: any staff member gets past the card; core.tasks.may then decides from the
    # task (owning role, claimer, asker, escalation role), and the task's own version (CAS)
    # and state machine refuse a stale or repeated tap. Not ``final`` here: a WeCom card
    # updated in place keeps the task_id (version) it was first sent with.
    (CardKind.TASK, Verb.CLAIM): ActionSpec(_STAFF, "认领", final=False),
    (CardKind.TASK, Verb.DONE): ActionSpec(_STAFF, "完成", final=False),
    (CardKind.TASK, Verb.ESCALATE): ActionSpec(_STAFF, "升级", final=False),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class CardRecord:
    """A card as we last rendered it, with what it is about (``ref``: an order key, an
    anomaly id, a dead letter id) and who handled it."""

    card: Card
    kind: CardKind
    ref: str
    order_key: str | None = None
    handled_by: str | None = None  # person id
    handled_at: datetime | None = None

    @property
    def card_id(self) -> str:
        return self.card.card_id

    @property
    def version(self) -> int:
        return self.card.version


class Outcome(StrEnum):
    ACCEPTED = "accepted"
    UNKNOWN_ACTION = "unknown_action"
    FORBIDDEN = "forbidden"
    STALE = "stale"


@dataclass(frozen=True, slots=True)
class ClickDecision:
    outcome: Outcome
    reply: str = ""  # what the clicking person is told when the click does nothing
    spec: ActionSpec | None = None


def decide_click(record: CardRecord, verb: str, person: Person, seen_version: int,
                 handled_by_name: str, allowed: frozenset[Role] | None = None
                 ) -> ClickDecision:
    """Accept or refuse a click. ``seen_version`` 0 means the platform did not say.
    ``allowed`` replaces the verb's roles when they depend on the record (anomaly routing)."""
    spec = ACTIONS.get((record.kind, Verb(verb))) if verb in Verb.__members__.values() else None
    if spec is None:
        return ClickDecision(Outcome.UNKNOWN_ACTION, "这个按钮已不可用。")
    if allowed is not None:
        spec = replace(spec, roles=allowed)
    if spec.roles and not spec.roles & person.roles:
        needed = "或".join(ROLE_LABELS[r] for r in sorted(spec.roles))
        return ClickDecision(Outcome.FORBIDDEN, f"抱歉，此操作需要{needed}权限。", spec)
    if record.handled_by is not None:
        return ClickDecision(Outcome.STALE, f"此卡片已由 {handled_by_name} 处理", spec)
    if spec.final and seen_version and seen_version != record.version:
        return ClickDecision(Outcome.STALE, "此卡片已更新，请查看最新内容后再操作。", spec)
    return ClickDecision(Outcome.ACCEPTED, spec=spec)


def status_line(person: Person, spec: ActionSpec, at: datetime) -> str:
    """"已由 张三 确认 10:42" (Beijing time)."""
    return f"已由 {person.name} {spec.done} {at.astimezone(SHANGHAI):%H:%M}"


def mark_handled(record: CardRecord, person: Person, spec: ActionSpec,
                 at: datetime) -> CardRecord:
    """The record after a final action: status line set, buttons gone, version + 1."""
    card = replace(record.card, status=status_line(person, spec, at), buttons=(),
                   version=record.version + 1)
    return replace(record, card=card, handled_by=person.id, handled_at=at)


def rerender(record: CardRecord, card: Card) -> CardRecord:
    """The record with fresh content (a refresh): same id, version + 1."""
    return replace(record, card=replace(card, card_id=record.card_id,
                                        version=record.version + 1))
