"""Gated actions on SQLite and PostgreSQL, through the real use cases and storage.

Transcripts: 张三 (agent) proposes a cancel -> every supervisor holds one card with the
evidence and the accuracy line; 李四 confirms -> the order is cancelled through the state
machine (one ``state_changed`` event), every copy of the card reads "已由 李四 确认 10:0x",
张三 is told, a second supervisor's tap is told who handled it, a warehouse tap is refused.
Twenty supervisors tapping at the same moment -> exactly one cancellation. A rejected proposal
changes nothing but the record; an undecided one expires at its deadline (clock injected).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from core.anomalies import AnomalyCode, open_anomaly
from core.chat import InboundMessage
from core.gating import GateInputError, GateKind, GateState, Verdict, decide, finish, propose
from core.people import Role
from core.states import OrderState
from core.timers import Timer, TimerKind
from handlers.click_card import click_card
from handlers.expire_gates import expire_gate
from handlers.ports import ChatUnitOfWork
from handlers.propose_gate import GateRequest, propose_gate
from handlers.receive_text import receive_text
from handlers.timers import TimerRegistry, fire_timers
from tests.contract.gate_support import (
    AGENT,
    BOSS,
    BOSSES,
    FINANCE,
    WAREHOUSE,
    UowFactory,
    card_rows,
    chat_deps,
    count,
    events,
    ingest,
    tap,
    texts_to,
)
from tests.factories import T0, make_order

ORDER = make_order(11)
OTHER = make_order(12)
MINUTE = timedelta(minutes=1)


async def test_repository_compare_and_set_accuracy_and_due(new_uow: UowFactory) -> None:
    policy_made = propose(GateKind.CANCEL, proposer=None, reason="超时未付款", at=T0,
                          policy=chat_deps(new_uow).gates[GateKind.CANCEL],
                          order_key="taobao:1", evidence=(("未付款", "48 小时"),))
    async with new_uow() as uow:
        ids = [await uow.gates.add(policy_made) for _ in range(4)]
        await uow.commit()
    async with new_uow() as uow:
        stored = await uow.gates.get(ids[0])
        assert stored is not None and stored.evidence == (("未付款", "48 小时"),)
        assert stored.deadline == T0 + timedelta(minutes=30) and stored.proposer == "system"
        assert (await uow.gates.open_for(GateKind.CANCEL, "taobao:1")).id == ids[0]  # type: ignore[union-attr]
        confirmed = decide(stored, Verdict.CONFIRM, BOSS, policy=chat_deps(new_uow).gates[
            GateKind.CANCEL], at=T0 + MINUTE)
        assert await uow.gates.transition(confirmed, expected=GateState.PROPOSED)
        assert not await uow.gates.transition(confirmed, expected=GateState.PROPOSED)
        done = finish(confirmed, at=T0 + MINUTE, ok=True, note="订单已取消")
        assert await uow.gates.transition(done, expected=GateState.CONFIRMED)
        rejected = replace(stored, id=ids[1], state=GateState.REJECTED, decided_at=T0)
        assert await uow.gates.transition(rejected, expected=GateState.PROPOSED)
        old = replace(stored, id=ids[2], state=GateState.REJECTED, decided_at=T0 - timedelta(
            days=91))  # outside the 90-day window
        assert await uow.gates.transition(old, expected=GateState.PROPOSED)
        await uow.commit()
    async with new_uow() as uow:
        accuracy = await uow.gates.accuracy(GateKind.CANCEL, since=T0 - timedelta(days=90))
        assert (accuracy.confirmed, accuracy.decided) == (1, 2)
        assert (await uow.gates.accuracy(GateKind.REFUND, since=T0)).decided == 0
        assert (await uow.gates.get(ids[0])).state is GateState.EXECUTED  # type: ignore[union-attr]


async def test_agent_proposes_supervisor_confirms_once(new_uow: UowFactory,
                                                       engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    proposal = await propose_gate(GateRequest(GateKind.CANCEL, "客户来电要求取消",
                                              order_key=ORDER.key), AGENT, deps, now=T0)
    cards = await card_rows(engine, proposal.card_id or "", "card")
    assert sorted(c["to"] for c in cards) == sorted(["lisi", *(b.id for b in BOSSES)])
    card = cards[0]["card"]
    assert card["title"] == "待确认：取消订单" and "近 90 天尚无已决定的提议" in card["body"]
    assert ["提议人", "张三"] in card["fields"]
    assert await events(engine, ORDER.key, "gate_proposed") == 1

    await click_card(tap(proposal, WAREHOUSE, at=T0 + MINUTE), deps, now=T0 + MINUTE)
    assert "需要主管确认" in (await texts_to(engine, WAREHOUSE))[-1]
    await click_card(tap(proposal, BOSS, at=T0 + MINUTE), deps, now=T0 + MINUTE)
    await click_card(tap(proposal, BOSS, at=T0 + MINUTE), deps, now=T0 + MINUTE)  # double tap
    await click_card(tap(proposal, BOSSES[3], at=T0 + 2 * MINUTE), deps, now=T0 + 2 * MINUTE)

    assert await events(engine, ORDER.key, "state_changed", to="cancelled") == 1
    assert await events(engine, ORDER.key, "gate_confirmed") == 1
    async with new_uow() as uow:
        assert await uow.timers.get(f"gate:{proposal.id}") is None  # cancelled with the decision
    assert (await texts_to(engine, BOSS))[-1] == "此卡片已由 李四 处理"
    assert (await texts_to(engine, BOSSES[3]))[-1] == "此卡片已由 李四 处理"
    assert "已被 李四 确认：订单已取消" in (await texts_to(engine, AGENT))[-1]
    updates = await card_rows(engine, proposal.card_id or "", "card_update")
    assert len(updates) == len(cards)  # every holder's copy, once
    assert {u["card"]["status"] for u in updates} == {"已由 李四 确认 10:01"}
    assert all(u["card"]["buttons"] == [] for u in updates)
    async with new_uow() as uow:
        assert (await uow.orders.get(ORDER.key)).order.status.value == "cancelled"  # type: ignore[union-attr]
        assert (await uow.gates.get(proposal.id or 0)).state is GateState.EXECUTED  # type: ignore[union-attr]
        second = await uow.gates.accuracy(GateKind.CANCEL, since=T0 - timedelta(days=90))
    assert (second.confirmed, second.decided) == (1, 1)


async def test_twenty_simultaneous_confirmations_cancel_once(new_uow: UowFactory,
                                                             engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    proposal = await propose_gate(GateRequest(GateKind.CANCEL, "重复下单",
                                              order_key=ORDER.key), AGENT, deps, now=T0)
    at = T0 + MINUTE
    await asyncio.gather(*(click_card(tap(proposal, boss, at=at), deps, now=at)
                           for boss in BOSSES))
    assert await events(engine, ORDER.key, "state_changed", to="cancelled") == 1
    assert await events(engine, ORDER.key, "gate_confirmed") == 1
    told = [(await texts_to(engine, boss)) for boss in BOSSES]
    winners = [boss for boss, texts in zip(BOSSES, told, strict=True) if not texts]
    assert len(winners) == 1  # the one who acted gets the card update, not a text
    assert all(texts == [f"此卡片已由 {winners[0].name} 处理"] for texts in told if texts)
    assert await count(engine, "SELECT count(*) FROM gate_proposals WHERE state = 'executed'"
                       ) == 1


async def test_redelivered_click_after_commit_acts_once(new_uow: UowFactory,
                                                        engine: AsyncEngine) -> None:
    """A worker that dies after the commit and before the ack: the click comes again."""
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    proposal = await propose_gate(GateRequest(GateKind.CANCEL, "x", order_key=ORDER.key),
                                  AGENT, deps, now=T0)
    click = tap(proposal, BOSS, callback_id="same-click")
    for _ in range(3):
        await click_card(click, deps, now=T0 + MINUTE)
    assert await events(engine, ORDER.key, "state_changed", to="cancelled") == 1


async def test_reject_changes_nothing_but_the_record(new_uow: UowFactory,
                                                     engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    proposal = await propose_gate(GateRequest(GateKind.CANCEL, "客户犹豫", order_key=ORDER.key),
                                  AGENT, deps, now=T0)
    await click_card(tap(proposal, BOSS, "gate_reject", at=T0 + MINUTE), deps, now=T0 + MINUTE)
    await click_card(tap(proposal, BOSSES[0], at=T0 + MINUTE), deps, now=T0 + MINUTE)
    assert await events(engine, ORDER.key, "state_changed") == 0
    assert await events(engine, ORDER.key, "gate_rejected") == 1
    assert "已被 李四 拒绝，未执行" in (await texts_to(engine, AGENT))[-1]
    assert (await texts_to(engine, BOSSES[0]))[-1] == "此卡片已由 李四 处理"
    updates = await card_rows(engine, proposal.card_id or "", "card_update")
    assert {u["card"]["status"] for u in updates} == {"已由 李四 拒绝 10:01"}


async def test_undecided_proposal_expires_at_its_deadline(new_uow: UowFactory,
                                                          engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    proposal = await propose_gate(GateRequest(GateKind.CANCEL, "x", order_key=ORDER.key),
                                  AGENT, deps, now=T0)
    deadline = proposal.deadline
    async with new_uow() as uow:
        timer = await uow.timers.get(f"gate:{proposal.id}")
    assert timer is not None and timer.due_at == deadline and timer.kind == "gate.expire"
    registry = TimerRegistry()

    async def expire(uow: ChatUnitOfWork, fired: Timer, now: datetime) -> None:
        await expire_gate(uow, fired, deps, now=now)

    registry.register(TimerKind.GATE_EXPIRE, expire)
    await fire_timers([timer], registry, new_uow, now=deadline - timedelta(seconds=1))
    assert await texts_to(engine, AGENT) == []  # not due: the timer stays
    await fire_timers([timer], registry, new_uow, now=deadline)
    await fire_timers([timer], registry, new_uow, now=deadline + MINUTE)  # fired once
    async with new_uow() as uow:
        assert await uow.timers.get(timer.key) is None
    assert ["已过期，未执行" in t for t in await texts_to(engine, AGENT)] == [True]
    updates = await card_rows(engine, proposal.card_id or "", "card_update")
    assert len(updates) == 1 + len(BOSSES) and updates[0]["card"]["buttons"] == []
    assert updates[0]["card"]["status"].startswith("已过期 10:30")
    await click_card(tap(proposal, BOSS, at=deadline + MINUTE), deps, now=deadline + MINUTE)
    assert (await texts_to(engine, BOSS))[-1] == "此提议已过期，未执行。"
    assert await events(engine, ORDER.key, "state_changed") == 0
    assert await events(engine, ORDER.key, "gate_expired") == 1


async def test_a_second_proposal_for_the_same_order_is_refused(new_uow: UowFactory) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    first = await propose_gate(GateRequest(GateKind.CANCEL, "x", order_key=ORDER.key), AGENT,
                               deps, now=T0)
    with pytest.raises(GateInputError) as refused:
        await propose_gate(GateRequest(GateKind.CANCEL, "y", order_key=ORDER.key), BOSS, deps,
                           now=T0)
    assert f"#{first.id}" in refused.value.reply


async def test_confirmed_cancel_of_a_shipped_order_fails_honestly(new_uow: UowFactory,
                                                                  engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    proposal = await propose_gate(GateRequest(GateKind.CANCEL, "x", order_key=ORDER.key),
                                  AGENT, deps, now=T0)
    await ingest(new_uow, replace(ORDER, status=OrderState.IN_TRANSIT))
    await click_card(tap(proposal, BOSS, at=T0 + MINUTE), deps, now=T0 + MINUTE)
    assert await events(engine, ORDER.key, "state_changed", to="cancelled") == 0
    assert await events(engine, ORDER.key, "gate_failed") == 1
    assert "无法执行" in (await texts_to(engine, AGENT))[-1]
    async with new_uow() as uow:
        assert (await uow.gates.get(proposal.id or 0)).state is GateState.FAILED  # type: ignore[union-attr]


async def test_refund_is_handed_to_finance(new_uow: UowFactory, engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    request = GateRequest(GateKind.REFUND, "少发一件", order_key=ORDER.key,
                          params={"amount_fen": 19_900})
    proposal = await propose_gate(request, AGENT, deps, now=T0)
    await click_card(tap(proposal, BOSS, at=T0 + MINUTE), deps, now=T0 + MINUTE)
    (instructions,) = await texts_to(engine, FINANCE)
    assert "¥199.00" in instructions and "不会自动退款" in instructions
    assert await events(engine, ORDER.key, "handwork_requested") == 1
    async with new_uow() as uow:
        assert (await uow.orders.get(ORDER.key)).order.status.value == "paid"  # type: ignore[union-attr]


async def test_release_unfreezes_the_order(new_uow: UowFactory, engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER)
    async with new_uow() as uow:
        await uow.orders.load_many([ORDER.key])
        anomaly_id = await uow.orders.add_anomaly(open_anomaly(
            ORDER.key, AnomalyCode.CUSTOM_SPEC_CONFLICT, at=T0, reason="图纸与工艺冲突"))
        await uow.commit()
    async with new_uow() as uow:
        assert (await uow.orders.get(ORDER.key)).holds == ("CUSTOM_SPEC_CONFLICT",)  # type: ignore[union-attr]
    request = GateRequest(GateKind.RELEASE, "生产已确认可做", order_key=ORDER.key,
                          params={"anomaly_id": anomaly_id})
    proposal = await propose_gate(request, AGENT, deps, now=T0)
    await click_card(tap(proposal, BOSS, at=T0 + MINUTE), deps, now=T0 + MINUTE)
    async with new_uow() as uow:
        assert (await uow.orders.get(ORDER.key)).holds == ()  # type: ignore[union-attr]
        (anomaly,) = await uow.anomalies.for_order(ORDER.key)
    assert anomaly.resolved_by == "lisi"
    assert await events(engine, ORDER.key, "anomaly_resolved", decision="released") == 1


async def test_merge_cancels_the_duplicate_and_closes_its_anomaly(new_uow: UowFactory,
                                                                  engine: AsyncEngine) -> None:
    deps = chat_deps(new_uow)
    twin = make_order(11, channel="jd", channel_order_id="88011",
                      created_at=ORDER.created_at + timedelta(seconds=40))
    await ingest(new_uow, ORDER, twin)
    async with new_uow() as uow:
        (dup,) = [a for a in await uow.anomalies.for_order(twin.key)
                  if a.code is AnomalyCode.SUSPECTED_DUPLICATE]
    request = GateRequest(GateKind.MERGE, "同一买家跨渠道重复下单", order_key=twin.key,
                          params={"keep": ORDER.key, "anomaly_id": dup.id})
    proposal = await propose_gate(request, BOSS, deps, now=T0)
    assert Role.SUPERVISOR in BOSS.roles
    await click_card(tap(proposal, BOSSES[0], at=T0 + MINUTE), deps, now=T0 + MINUTE)
    assert await events(engine, twin.key, "merged_into", keep=ORDER.key) == 1
    assert await events(engine, twin.key, "state_changed", to="cancelled") == 1
    assert await events(engine, ORDER.key, "merged_from", duplicate=twin.key) == 1
    assert await count(engine, "SELECT count(*) FROM anomalies WHERE order_key = :k AND "
                               "status = 'open'", k=twin.key) == 0


async def test_typed_release_names_the_freeze(new_uow: UowFactory, engine: AsyncEngine) -> None:
    """"申请解冻 <id> <reason>" by an agent: the proposal names the open C anomaly; a supervisor's
    confirmation releases the order; an order that is not frozen is refused politely."""
    deps = chat_deps(new_uow)
    await ingest(new_uow, ORDER, OTHER)
    async with new_uow() as uow:
        await uow.orders.load_many([ORDER.key])
        freeze = await uow.orders.add_anomaly(open_anomaly(
            ORDER.key, AnomalyCode.PRESALE_BALANCE_STUCK, at=T0, reason="尾款未付"))
        await uow.commit()
    for order in (OTHER, ORDER):
        message = InboundMessage("webchat", f"m-{order.channel_order_id}", AGENT.id, AGENT.name,
                                 AGENT.id, False, f"申请解冻 {order.channel_order_id} 尾款已补",
                                 False, T0)
        await receive_text(message, deps, now=T0)
    refused, filed = await texts_to(engine, AGENT)
    assert "没有被冻结" in refused and filed.startswith("已提交「解冻订单」提议")
    async with new_uow() as uow:
        proposal = await uow.gates.open_for(GateKind.RELEASE, ORDER.key)
    assert proposal is not None and proposal.params == {"anomaly_id": freeze}
    await click_card(tap(proposal, BOSS, at=T0 + MINUTE), deps, now=T0 + MINUTE)
    async with new_uow() as uow:
        assert (await uow.orders.get(ORDER.key)).holds == ()  # type: ignore[union-attr]
