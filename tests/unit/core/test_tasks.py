"""Chat task rules: the state machine and who may move it, the overdue escalation, and what a
staff message makes happen (intent + sender -> plan), including the address route."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.gating import GateKind
from core.intent import extract
from core.order import Receiver
from core.people import Person, Role
from core.states import OrderState
from core.task_rules import (
    AddressRoute,
    Ask,
    ChangeAddress,
    OpenTask,
    ProposeGate,
    ShowOrder,
    Withdraw,
    address_route,
    new_receiver,
    plan,
)
from core.task_views import task_card
from core.tasks import (
    Priority,
    Task,
    TaskAction,
    TaskClosedError,
    TaskForbiddenError,
    TaskKind,
    TaskSettings,
    TaskState,
    new_task,
    overdue,
    overdue_timer,
    transition,
)

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
AGENT = Person("zhangsan", "张三", frozenset({Role.AGENT}))
OTHER_AGENT = Person("zhouqi", "周七", frozenset({Role.AGENT}))
WAREHOUSE = Person("wangwu", "王五", frozenset({Role.WAREHOUSE}))
WAREHOUSE_2 = Person("qianba", "钱八", frozenset({Role.WAREHOUSE}))
BOSS = Person("lisi", "李四", frozenset({Role.SUPERVISOR, Role.AGENT}))
FINANCE = Person("sunjiu", "孙九", frozenset({Role.FINANCE}))
SETTINGS = TaskSettings()


def urgent(**changes: object) -> Task:
    task = new_task(TaskKind.URGENT, requester=AGENT, at=T0, settings=SETTINGS,
                    title="急单 taobao:1", priority=Priority.HIGH, order_key="taobao:1")
    return replace(task, id=7, **changes)  # type: ignore[arg-type]


def test_a_new_task_gets_the_kinds_owner_and_deadline() -> None:
    task = urgent()
    assert (task.state, task.owner_role, task.version) == (TaskState.OPEN, Role.WAREHOUSE, 1)
    assert task.deadline == T0 + timedelta(hours=2)
    invoice = new_task(TaskKind.INVOICE, requester=AGENT, at=T0, settings=SETTINGS, title="x")
    assert invoice.owner_role is Role.FINANCE and invoice.deadline == T0 + timedelta(hours=24)


def test_claim_then_done_by_the_owner_role() -> None:
    claimed = transition(urgent(), TaskAction.CLAIM, WAREHOUSE, at=T0, settings=SETTINGS)
    assert (claimed.state, claimed.claimed_by, claimed.version) == \
        (TaskState.CLAIMED, "wangwu", 2)
    done = transition(claimed, TaskAction.DONE, WAREHOUSE, at=T0 + timedelta(minutes=5),
                      settings=SETTINGS)
    assert (done.state, done.closed_by, done.version) == (TaskState.DONE, "wangwu", 3)
    assert done.closed_at == T0 + timedelta(minutes=5) and not done.active


def test_a_second_claim_and_a_tap_after_done_are_refused_with_who() -> None:
    claimed = transition(urgent(), TaskAction.CLAIM, WAREHOUSE, at=T0, settings=SETTINGS)
    with pytest.raises(TaskClosedError) as mine:
        transition(claimed, TaskAction.CLAIM, WAREHOUSE, at=T0, settings=SETTINGS)
    assert mine.value.reply == "您已认领此任务。"
    with pytest.raises(TaskClosedError) as other:
        transition(claimed, TaskAction.CLAIM, WAREHOUSE_2, at=T0, settings=SETTINGS,
                   closed_by_name="王五")
    assert other.value.reply == "此任务已由 王五 认领。"
    done = transition(claimed, TaskAction.DONE, WAREHOUSE, at=T0, settings=SETTINGS)
    with pytest.raises(TaskClosedError) as after:
        transition(done, TaskAction.DONE, WAREHOUSE, at=T0, settings=SETTINGS,
                   closed_by_name="王五")
    assert "已完成" in after.value.reply and "王五" in after.value.reply


def test_roles_come_from_the_task_not_from_the_card() -> None:
    with pytest.raises(TaskForbiddenError) as refused:
        transition(urgent(), TaskAction.CLAIM, AGENT, at=T0, settings=SETTINGS)
    assert "仓库" in refused.value.reply and "主管" in refused.value.reply
    with pytest.raises(TaskForbiddenError):
        transition(urgent(), TaskAction.DONE, FINANCE, at=T0, settings=SETTINGS)
    with pytest.raises(TaskForbiddenError):  # only the asker or the supervisor may withdraw
        transition(urgent(), TaskAction.CANCEL, OTHER_AGENT, at=T0, settings=SETTINGS)
    assert transition(urgent(), TaskAction.CANCEL, AGENT, at=T0,
                      settings=SETTINGS).state is TaskState.CANCELLED
    assert transition(urgent(), TaskAction.ESCALATE, AGENT, at=T0,
                      settings=SETTINGS).state is TaskState.ESCALATED  # the asker may
    assert transition(urgent(), TaskAction.DONE, BOSS, at=T0,
                      settings=SETTINGS).state is TaskState.DONE


def test_escalated_goes_to_the_supervisor_who_may_claim_it() -> None:
    escalated = transition(urgent(), TaskAction.ESCALATE, WAREHOUSE, at=T0, settings=SETTINGS)
    with pytest.raises(TaskClosedError) as again:
        transition(escalated, TaskAction.ESCALATE, WAREHOUSE, at=T0, settings=SETTINGS)
    assert again.value.reply == "此任务已升级给主管。"
    taken = transition(escalated, TaskAction.CLAIM, BOSS, at=T0, settings=SETTINGS)
    assert (taken.state, taken.claimed_by) == (TaskState.CLAIMED, "lisi")


def test_overdue_escalates_open_and_claimed_only_once_due() -> None:
    task = urgent()
    assert overdue(task, at=task.deadline - timedelta(seconds=1)) is None
    late = overdue(task, at=task.deadline)
    assert late is not None and late.state is TaskState.ESCALATED and late.version == 2
    assert overdue(late, at=task.deadline) is None
    done = replace(task, state=TaskState.DONE)
    assert overdue(done, at=task.deadline + timedelta(days=1)) is None
    timer = overdue_timer(task)
    assert (timer.key, timer.kind, timer.ref, timer.due_at) == \
        ("task:7:overdue", "task.overdue", "7", task.deadline)


def test_the_card_buttons_follow_the_state() -> None:
    task = replace(urgent(), card_id="task-1")
    verbs = [b.payload.rsplit(":", 1)[1] for b in task_card("task-1", task, None, str).card.buttons]
    assert verbs == ["claim", "done", "escalate"]
    claimed = transition(task, TaskAction.CLAIM, WAREHOUSE, at=T0, settings=SETTINGS)
    record = task_card("task-1", claimed, None, {"wangwu": "王五"}.get)  # type: ignore[arg-type]
    assert [b.action for b in record.card.buttons] == ["done", "escalate"]
    assert record.card.status == "王五 处理中" and record.card.title.startswith("【急】")
    done = transition(claimed, TaskAction.DONE, WAREHOUSE, at=T0, settings=SETTINGS)
    closed = task_card("task-1", done, None, lambda _: "王五")
    assert closed.card.buttons == () and closed.handled_by == "wangwu"
    masked = task_card("task-1", replace(task, source_text="急单 13812345678"), None, str)
    assert "13812345678" not in masked.card.body


@pytest.mark.parametrize(("text", "expected"), [
    ("急单！1234567 今天必须发", OpenTask(TaskKind.URGENT, Priority.HIGH)),
    ("急单 1234567 加个五金包", OpenTask(TaskKind.ADD_ITEM, Priority.HIGH)),
    ("1234567 开票", OpenTask(TaskKind.INVOICE, Priority.NORMAL)),
    ("取消订单 1234567", ProposeGate(GateKind.CANCEL)),
    ("1234567 退货", ProposeGate(GateKind.REFUND)),
    ("查单 9000000007", ShowOrder()),
    ("不急了", Withdraw(("urgent",))),
    ("地址不用改了", Withdraw(("change_address",))),
])
def test_plan(text: str, expected: object) -> None:
    assert plan(extract(text), ask_back_below=0.6) == expected


def test_a_short_order_number_typed_counts_as_the_order() -> None:
    """"急单 JD88007001", "查单 999": numbers the intent reader does not take as orders; the
    handler finds them typed (``handlers/order_refs.typed_ref``) and says so."""
    assert isinstance(plan(extract("急单 JD88007001"), ask_back_below=0.6), Ask)
    assert plan(extract("急单 JD88007001"), ask_back_below=0.6, typed_ref=True) == \
        OpenTask(TaskKind.URGENT, Priority.HIGH)
    assert plan(extract("查单 999"), ask_back_below=0.6, typed_ref=True) == ShowOrder()


def test_no_order_low_confidence_and_bad_addresses_are_questions() -> None:
    no_order = plan(extract("急单 今天必须发"), ask_back_below=0.6)
    assert isinstance(no_order, Ask) and no_order.reason == "no_order"
    assert no_order.text.startswith("哪个订单？")
    unclear = plan(extract("帮我看看"), ask_back_below=0.6)
    assert isinstance(unclear, Ask) and unclear.reason == "unclear"
    assert isinstance(plan(extract("帮我看看"), ask_back_below=0.0), Ask)  # still no request
    which = plan(extract("1234567 改地址 西湖区文三路90号"), ask_back_below=0.6)
    assert isinstance(which, Ask) and which.reason == "address_ambiguous"
    assert "杭州市" in which.text and "南昌市" in which.text and "哪个城市" in which.text
    missing = plan(extract("1234567 改地址"), ask_back_below=0.6)
    assert isinstance(missing, Ask) and missing.reason == "address_missing"


def test_change_address_plan_and_route() -> None:
    decided = plan(extract("1234567 改地址 浙江省杭州市西湖区文三路 90 号"), ask_back_below=0.6)
    assert isinstance(decided, ChangeAddress)
    old = Receiver("张三", "13800000001", "北京市", "北京市", "朝阳区", "建国路 88 号")
    new = new_receiver(old, decided.address)
    assert (new.name, new.phone, new.province, new.city, new.district, new.address) == \
        ("张三", "13800000001", "浙江省", "杭州市", "西湖区", "文三路90号")
    assert address_route(OrderState.PAID) is AddressRoute.APPLY
    assert address_route(OrderState.AWAITING_ALLOCATION) is AddressRoute.APPLY
    assert address_route(OrderState.ALLOCATED) is AddressRoute.GATE
    assert address_route(OrderState.LABEL_PRINTED) is AddressRoute.GATE
    assert address_route(OrderState.PICKED_UP) is AddressRoute.TOO_LATE
