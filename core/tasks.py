"""Tasks staff type in chat ("急单！1234567 今天必须发", "1234567 加个五金包"): the model and its
state machine.

A task is linked to its order (found by order number, tracking number or phone), has a
priority (急单 = high), an owning role, a person who asked for it and a deadline from config
per kind. It moves through one small state machine::

    open -> claimed -> done
    open | claimed -> escalated -> claimed | done      (escalated: the supervisor has it)
    open | claimed | escalated -> cancelled             (the asker withdrew it: "不急了")
    open -> done                                        (done without claiming first)

Who may do what is decided here, from the staff table's roles and the task, never from the
click: claim and done belong to the owning role (or whoever claimed it) and the escalation
role; escalate also to the person who asked; cancel to the person who asked and the
escalation role. Pure: the handlers load, call ``transition``, and store the result with a
compare-and-set on ``version``, so two taps at once have one winner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from core.clock import require_aware
from core.errors import DomainError
from core.people import ROLE_LABELS, Person, Role
from core.timers import Timer, TimerKind


class TaskKind(StrEnum):
    URGENT = "urgent"  # 急单: ship it first
    ADD_ITEM = "add_item"  # 加个配件
    INVOICE = "invoice"  # 开票
    COMPLAINT = "complaint"  # 投诉
    PARCEL_VERIFICATION = "parcel_verification"  # opened by tracking (36 h silence)


KIND_LABELS: Mapping[TaskKind, str] = {
    TaskKind.URGENT: "急单", TaskKind.ADD_ITEM: "加配件", TaskKind.INVOICE: "开票",
    TaskKind.COMPLAINT: "投诉处理", TaskKind.PARCEL_VERIFICATION: "物流核实",
}  # fmt: skip


class Priority(StrEnum):
    HIGH = "high"
    NORMAL = "normal"


PRIORITY_LABELS: Mapping[Priority, str] = {Priority.HIGH: "高（急单）", Priority.NORMAL: "普通"}
# ``orders.priority``: what the allocation queue orders by (higher first, then oldest)
ORDER_PRIORITY: Mapping[Priority, int] = {Priority.HIGH: 10, Priority.NORMAL: 0}


class TaskState(StrEnum):
    OPEN = "open"
    CLAIMED = "claimed"
    DONE = "done"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"


STATE_LABELS: Mapping[TaskState, str] = {
    TaskState.OPEN: "待认领", TaskState.CLAIMED: "处理中", TaskState.DONE: "已完成",
    TaskState.ESCALATED: "已升级", TaskState.CANCELLED: "已撤销",
}  # fmt: skip
ACTIVE: frozenset[TaskState] = frozenset({TaskState.OPEN, TaskState.CLAIMED,
                                          TaskState.ESCALATED})


class TaskAction(StrEnum):
    CLAIM = "claim"
    DONE = "done"
    ESCALATE = "escalate"
    CANCEL = "cancel"


S, A = TaskState, TaskAction
TRANSITIONS: Mapping[TaskState, Mapping[TaskAction, TaskState]] = {
    S.OPEN: {A.CLAIM: S.CLAIMED, A.DONE: S.DONE, A.ESCALATE: S.ESCALATED, A.CANCEL: S.CANCELLED},
    S.CLAIMED: {A.DONE: S.DONE, A.ESCALATE: S.ESCALATED, A.CANCEL: S.CANCELLED},
    S.ESCALATED: {A.CLAIM: S.CLAIMED, A.DONE: S.DONE, A.CANCEL: S.CANCELLED},
    S.DONE: {}, S.CANCELLED: {},
}  # fmt: skip
ACTION_LABELS: Mapping[TaskAction, str] = {A.CLAIM: "认领", A.DONE: "完成", A.ESCALATE: "升级",
                                           A.CANCEL: "撤销"}


class TaskError(DomainError):
    """A task rule said no; ``reply`` is the polite sentence for the person."""

    def __init__(self, message: str, reply: str) -> None:
        super().__init__(message)
        self.reply = reply


class TaskForbiddenError(TaskError):
    """The person may not do this to this task."""


class TaskClosedError(TaskError):
    """The task is no longer in a state that allows the action (done, cancelled, claimed)."""


# --- settings (``[tasks]`` in config) ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class KindPolicy:
    owner: Role
    deadline: timedelta

    def __post_init__(self) -> None:
        if self.deadline <= timedelta(0):
            raise ValueError(f"task deadline must be positive: {self.deadline}")


DEFAULT_KINDS: Mapping[TaskKind, KindPolicy] = {
    TaskKind.URGENT: KindPolicy(Role.WAREHOUSE, timedelta(hours=2)),
    TaskKind.ADD_ITEM: KindPolicy(Role.WAREHOUSE, timedelta(hours=4)),
    TaskKind.INVOICE: KindPolicy(Role.FINANCE, timedelta(hours=24)),
    TaskKind.COMPLAINT: KindPolicy(Role.SUPERVISOR, timedelta(hours=1)),
}


@dataclass(frozen=True, slots=True)
class TaskSettings:
    """Per kind: the owning role and the deadline; who an overdue or escalated task goes to."""

    kinds: Mapping[TaskKind, KindPolicy] = field(default_factory=lambda: DEFAULT_KINDS)
    escalate_to: Role = Role.SUPERVISOR

    def policy(self, kind: TaskKind) -> KindPolicy:
        return self.kinds.get(kind) or DEFAULT_KINDS[kind]


# --- the task ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Task:
    kind: TaskKind
    title: str
    priority: Priority
    owner_role: Role
    requested_by: str  # person id
    created_at: datetime
    deadline: datetime
    order_key: str | None = None
    state: TaskState = TaskState.OPEN
    claimed_by: str | None = None
    closed_by: str | None = None
    closed_at: datetime | None = None
    source_text: str = ""
    source_ref: str | None = None  # platform + message id: one task per message
    card_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)  # where the request came from
    version: int = 1
    id: int | None = None

    @property
    def label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def new_task(kind: TaskKind, *, requester: Person, at: datetime, settings: TaskSettings,
             title: str, priority: Priority = Priority.NORMAL, order_key: str | None = None,
             source_text: str = "", source_ref: str | None = None,
             data: Mapping[str, Any] | None = None) -> Task:
    """An open task with the kind's owner and deadline (``at`` + the kind's deadline)."""
    at = require_aware(at, "at")
    policy = settings.policy(kind)
    return Task(kind, title, priority, policy.owner, requester.id, at, at + policy.deadline,
                order_key, source_text=source_text[:500], source_ref=source_ref,
                data=dict(data or {}))


def may(task: Task, action: TaskAction, person: Person, settings: TaskSettings) -> bool:
    """Whether ``person`` may do ``action`` to ``task`` (roles from the staff table)."""
    boss = settings.escalate_to in person.roles
    owner = task.owner_role in person.roles or person.id == task.claimed_by
    asker = person.id == task.requested_by
    if action is TaskAction.ESCALATE:
        return boss or owner or asker
    if action is TaskAction.CANCEL:
        return boss or asker
    return boss or owner  # claim, done


def transition(task: Task, action: TaskAction, person: Person, *, at: datetime,
               settings: TaskSettings, closed_by_name: str = "") -> Task:
    """The task after ``action`` by ``person``; the version goes up by one. Raises
    ``TaskForbiddenError`` (role) before ``TaskClosedError`` (state), like every card."""
    at = require_aware(at, "at")
    if not may(task, action, person, settings):
        raise TaskForbiddenError(f"{person.id} may not {action} task #{task.id}",
                                 f"抱歉，{ACTION_LABELS[action]}此任务需要"
                                 f"{_roles(task, action, settings)}权限。")
    target = TRANSITIONS[task.state].get(action)
    if target is None:
        raise closed_error(task, action, person, closed_by_name)
    claimed = person.id if target is TaskState.CLAIMED else task.claimed_by
    final = target in (TaskState.DONE, TaskState.CANCELLED)
    return replace(task, state=target, claimed_by=claimed, version=task.version + 1,
                   closed_by=person.id if final else None, closed_at=at if final else None)


def overdue(task: Task, *, at: datetime) -> Task | None:
    """The deadline passed: an open or claimed task is escalated by the system; None when
    there is nothing to do (done, cancelled, already escalated, or not due yet)."""
    at = require_aware(at, "at")
    if task.state not in (TaskState.OPEN, TaskState.CLAIMED) or at < task.deadline:
        return None
    return replace(task, state=TaskState.ESCALATED, version=task.version + 1)


def closed_error(task: Task, action: TaskAction, person: Person, by_name: str) -> TaskClosedError:
    """The refusal for an action the task's state no longer allows (a double tap, a second
    claimer, a tap after done)."""
    message = f"task #{task.id} is {task.state}: cannot {action}"
    if task.state is TaskState.CLAIMED and action is TaskAction.CLAIM:
        mine = task.claimed_by == person.id
        return TaskClosedError(message, "您已认领此任务。" if mine else
                               f"此任务已由 {by_name or task.claimed_by} 认领。")
    if task.state is TaskState.ESCALATED and action is TaskAction.ESCALATE:
        return TaskClosedError(message, "此任务已升级给主管。")
    who = by_name or task.closed_by or ""
    return TaskClosedError(message, f"此任务已{STATE_LABELS[task.state]}"
                           + (f"（{who}）。" if who else "。"))


def _roles(task: Task, action: TaskAction, settings: TaskSettings) -> str:
    roles = {settings.escalate_to}
    if action is not TaskAction.CANCEL:
        roles.add(task.owner_role)
    names = "或".join(ROLE_LABELS[r] for r in sorted(roles))
    return names + ("或提出人" if action in (TaskAction.ESCALATE, TaskAction.CANCEL) else "")


def overdue_timer(task: Task) -> Timer:
    """The durable timer (``task.overdue``) that escalates ``task`` at its deadline; set with
    the task, cancelled when it is done or cancelled, in the same transactions."""
    return Timer(overdue_key(task.id or 0), TimerKind.TASK_OVERDUE, str(task.id), task.deadline)


def overdue_key(task_id: int) -> str:
    return f"task:{task_id}:overdue"
