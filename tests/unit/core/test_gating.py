"""The gated-action rules: who may propose and decide, the state machine, expiry, accuracy."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from core.gate_commands import parse_gate_command
from core.gating import (
    DEFAULT_POLICIES,
    SYSTEM,
    Accuracy,
    GateClosedError,
    GateForbiddenError,
    GateInputError,
    GateKind,
    GatePolicy,
    GateState,
    GateTransitionError,
    Proposal,
    Verdict,
    accuracy_line,
    check_transition,
    decide,
    expire,
    finish,
    propose,
    tally,
)
from core.people import Person, Role
from tests.factories import T0

AGENT = Person("zhangsan", "张三", frozenset({Role.AGENT}))
BOSS = Person("lisi", "李四", frozenset({Role.SUPERVISOR}))
BOSS2 = Person("qianqi", "钱七", frozenset({Role.SUPERVISOR}))
WAREHOUSE = Person("wangwu", "王五", frozenset({Role.WAREHOUSE}))
CANCEL = DEFAULT_POLICIES[GateKind.CANCEL]


def a_cancel(**changes: Any) -> Proposal:
    proposal = propose(GateKind.CANCEL, proposer=AGENT, reason="客户要求取消", at=T0,
                       policy=CANCEL, order_key="taobao:1")
    return replace(proposal, id=7, **changes)


def test_agent_proposes_with_a_deadline_from_the_policy() -> None:
    proposal = a_cancel()
    assert proposal.state is GateState.PROPOSED
    assert proposal.proposer == "zhangsan"
    assert proposal.deadline == T0 + timedelta(minutes=30)


def test_the_system_may_always_propose_and_roles_are_configurable() -> None:
    strict = GatePolicy(proposers=frozenset({Role.SUPERVISOR}))
    by_system = propose(GateKind.CANCEL, proposer=None, reason="超时未付款", at=T0,
                        policy=strict, order_key="jd:2")
    assert by_system.proposer == SYSTEM and by_system.by_system
    with pytest.raises(GateForbiddenError) as refused:
        propose(GateKind.CANCEL, proposer=AGENT, reason="x", at=T0, policy=strict,
                order_key="jd:2")
    assert "需要主管权限" in refused.value.reply


@pytest.mark.parametrize(("kind", "changes", "says"), [
    (GateKind.CANCEL, {"order_key": None}, "需要指定订单"),
    (GateKind.CANCEL, {"reason": "  "}, "原因"),
    (GateKind.DELIST, {"order_key": None}, "SKU"),
    (GateKind.MERGE, {"params": {}}, "保留"),
    (GateKind.MERGE, {"params": {"keep": "taobao:1"}}, "保留"),  # itself
    (GateKind.CHANGE_ADDRESS, {"params": {"receiver": {"city": "杭州市"}}}, "详细地址"),
    (GateKind.RELEASE, {"params": {"anomaly_id": "3"}}, "冻结"),
    (GateKind.REFUND, {"params": {"amount_fen": 0}}, "大于 0"),
])  # fmt: skip
def test_incomplete_proposals_are_refused_with_a_clear_reply(
        kind: GateKind, changes: dict[str, object], says: str) -> None:
    arguments: dict[str, object] = {"order_key": "taobao:1", "reason": "原因", "params": {}}
    arguments.update(changes)
    with pytest.raises(GateInputError) as refused:
        propose(kind, proposer=AGENT, at=T0, policy=DEFAULT_POLICIES[kind],
                **arguments)  # type: ignore[arg-type]
    assert says in refused.value.reply


def test_only_a_decider_role_decides_checked_before_anything_else() -> None:
    decided = a_cancel(state=GateState.REJECTED, decided_by="lisi")
    for person in (AGENT, WAREHOUSE):
        with pytest.raises(GateForbiddenError) as refused:
            decide(decided, Verdict.CONFIRM, person, policy=CANCEL, at=T0)
        assert "需要主管确认" in refused.value.reply
    warehouse_may = GatePolicy(deciders=frozenset({Role.WAREHOUSE}))
    confirmed = decide(a_cancel(), Verdict.CONFIRM, WAREHOUSE, policy=warehouse_may,
                       at=T0)
    assert confirmed.state is GateState.CONFIRMED and confirmed.decided_by == "wangwu"


def test_confirm_then_execute_or_fail() -> None:
    confirmed = decide(a_cancel(), Verdict.CONFIRM, BOSS, policy=CANCEL,
                       at=T0 + timedelta(minutes=5))
    assert (confirmed.state, confirmed.decided_at) == (GateState.CONFIRMED,
                                                      T0 + timedelta(minutes=5))
    done = finish(confirmed, at=T0 + timedelta(minutes=5), ok=True, note="订单已取消")
    assert done.state is GateState.EXECUTED and done.note == "订单已取消"
    failed = finish(confirmed, at=T0, ok=False, note="已揽收")
    assert failed.state is GateState.FAILED
    with pytest.raises(GateTransitionError):
        finish(done, at=T0, ok=True, note="again")  # executed is final


def test_a_decided_proposal_names_who_decided() -> None:
    confirmed = decide(a_cancel(), Verdict.CONFIRM, BOSS, policy=CANCEL, at=T0)
    with pytest.raises(GateClosedError) as second:
        decide(confirmed, Verdict.CONFIRM, BOSS2, policy=CANCEL, at=T0, decided_by_name="李四")
    assert second.value.reply == "此卡片已由 李四 处理"
    rejected = decide(a_cancel(), Verdict.REJECT, BOSS2, policy=CANCEL, at=T0)
    assert rejected.state is GateState.REJECTED
    with pytest.raises(GateClosedError):
        decide(rejected, Verdict.CONFIRM, BOSS, policy=CANCEL, at=T0)


def test_deadline_passed_means_no_decision_and_expiry() -> None:
    proposal = a_cancel()
    due = proposal.deadline
    with pytest.raises(GateTransitionError):
        expire(proposal, at=due - timedelta(seconds=1))
    with pytest.raises(GateClosedError) as late:
        decide(proposal, Verdict.CONFIRM, BOSS, policy=CANCEL, at=due)
    assert "已过期" in late.value.reply
    expired = expire(proposal, at=due)
    assert expired.state is GateState.EXPIRED
    with pytest.raises(GateClosedError):
        expire(expired, at=due)
    confirmed = decide(proposal, Verdict.CONFIRM, BOSS, policy=CANCEL, at=T0)
    with pytest.raises(GateClosedError):
        expire(confirmed, at=due)  # decided in time: nothing to expire


def test_transition_table() -> None:
    check_transition(GateState.PROPOSED, GateState.EXPIRED)
    for source, target in ((GateState.PROPOSED, GateState.EXECUTED),
                           (GateState.REJECTED, GateState.CONFIRMED),
                           (GateState.EXPIRED, GateState.PROPOSED)):
        with pytest.raises(GateTransitionError):
            check_transition(source, target)


def test_accuracy_counts_decisions_only() -> None:
    states = ([GateState.EXECUTED] * 150 + [GateState.FAILED] * 7 + [GateState.REJECTED] * 13
              + [GateState.EXPIRED] * 9 + [GateState.PROPOSED] * 4)
    accuracy = tally(states)
    assert accuracy == Accuracy(157, 170)
    assert accuracy_line(GateKind.CANCEL, accuracy) == "取消订单 建议准确率 92.4% (157/170)"
    assert accuracy_line(GateKind.REFUND, Accuracy(2, 3)) == "退款 建议准确率 66.7% (2/3)"


def test_no_history_is_said_honestly() -> None:
    line = accuracy_line(GateKind.MERGE, tally([GateState.EXPIRED, GateState.PROPOSED]))
    assert "暂无数据" in line and "%" not in line


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError, match="deciding role"):
        GatePolicy(deciders=frozenset())
    with pytest.raises(ValueError, match="positive"):
        GatePolicy(deadline=timedelta(0))


@pytest.mark.parametrize(("text", "expected"), [
    ("申请取消 3900000000000007 客户不要了", ("3900000000000007", "客户不要了")),
    ("@orderbot 申请取消 taobao:1234：买错了", ("taobao:1234", "买错了")),
    ("申请取消", ("", "")),
    ("建议取消 1234", ("1234", "")),
])  # fmt: skip
def test_chat_commands(text: str, expected: tuple[str, str]) -> None:
    command = parse_gate_command(text)
    assert command is not None and command.kind is GateKind.CANCEL
    assert (command.ref, command.reason) == expected


def test_ordinary_sentences_are_not_commands() -> None:
    assert parse_gate_command("客户说想取消 1234") is None
    assert parse_gate_command("查单 1234") is None


def test_release_command() -> None:
    command = parse_gate_command("申请解冻 jd:88001 生产已确认可以做")
    assert command is not None and command.kind is GateKind.RELEASE
    assert (command.ref, command.reason) == ("jd:88001", "生产已确认可以做")
