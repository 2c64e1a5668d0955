"""Chat tasks and customer questions through the real service and the fake WeCom: every
callback is really encrypted and signed (tests/fakes/wecom.py), replies go out through the
outbox by message/send and update_template_card.

Transcripts:
* 张三 (agent) writes "急单！<order> 今天必须发" -> a high-priority task card to him and to 王五
  (warehouse) at once; the order's allocation priority is raised (event + orders.priority).
  张三 may not claim it (role); 王五 claims (a second tap: "您已认领"), then marks it done
  (a second tap: handled by 王五); the overdue timer is gone.
* 张三 writes 急单 and then "不急了" -> the task is cancelled, the cards updated, the priority
  back to normal.
* "<order> 改地址 浙江省杭州市西湖区文三路 90 号" before allocation -> address changed, event,
  confirmation; after allocation -> a gated proposal for the supervisor; "西湖区" alone -> which
  city?; "急单 今天必须发" (no order) -> "哪个订单？", nothing opened.
* a customer (not staff) asks "我的快递到哪了 <order> 尾号<last 4>" -> the desk's masked answer;
  a stranger asking for that order by number gets no personal data.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.tracking import TRACKING
from bot.tracking_config import TrackingConfig
from bot.workers import utcnow
from core.customer_replies import NEED_PROOF, NO_MATCH
from core.states import OrderState
from core.tracking import Parcel, TraceLine, TrackingState, TrackReport
from handlers.track_parcel import apply_report, register_parcel
from tests.e2e.chat_store import eventually, ingest, order_events
from tests.e2e.wecom_service import (
    SEND,
    WeComChat,
    cards_to,
    texts_to,
    updates_to,
    wecom_chat,
)
from tests.factories import make_order
from tests.fakes.wecom import FakeWeCom, Recorded

ORDER = make_order(7)  # paid: before allocation; receiver 13800000007, 文三路 8 号
ALLOCATED = make_order(8, status=OrderState.ALLOCATED)
SHIPPED = make_order(71, status=OrderState.LABEL_PRINTED)  # receiver 13800000071
NO = ORDER.channel_order_id


@pytest.fixture
async def service(sqlite_url: str) -> AsyncIterator[WeComChat]:
    tracking = TrackingConfig(customer_platforms=("webchat", "wecom"))
    async with FakeWeCom() as fake, wecom_chat(fake, sqlite_url, tracking=tracking) as chat:
        yield chat


def title(card: Recorded) -> str:
    return str(card.body["template_card"]["main_title"]["title"])


async def test_urgent_message_makes_a_high_priority_task_for_the_warehouse(
        service: WeComChat) -> None:
    fake = service.fake
    await ingest(service.db, ORDER)
    await service.say("ZhangSan", f"急单！{NO} 今天必须发")
    (mine,) = await eventually(lambda: cards_to(fake, "ZhangSan"))
    (warehouse,) = await eventually(lambda: cards_to(fake, "WangWu"))
    assert title(mine) == title(warehouse) == f"【急】任务：急单 {ORDER.key}"
    assert cards_to(fake, "LiSi") == []  # not the supervisor's until escalated
    [(task_id, status, priority, owner, version)] = await service.rows(
        "SELECT id, status, priority, owner_role, version FROM tasks")
    assert (status, priority, owner, version) == ("open", "high", "warehouse", 1)
    assert await service.rows("SELECT priority FROM orders WHERE channel_order_id = :n",
                              n=NO) == [(10,)]
    assert await order_events(service.db, ORDER.key, "task_opened") == 1
    assert await order_events(service.db, ORDER.key, "priority_raised") == 1
    timer = f"task:{task_id}:overdue"
    assert await service.rows("SELECT key FROM timers WHERE key = :k", k=timer) == [(timer,)]

    await service.tap("ZhangSan", mine, "claim", "rc-z1")  # an agent: not his to claim
    assert "需要" in (await eventually(lambda: texts_to(fake, "ZhangSan")))[-1]
    await service.tap("WangWu", warehouse, "claim", "rc-w1")
    await eventually(lambda: updates_to(fake, "WangWu"))
    await service.tap("WangWu", warehouse, "claim", "rc-w2")  # the double tap
    assert await eventually(lambda: texts_to(fake, "WangWu")) == ["您已认领此任务。"]
    assert await service.rows("SELECT status, claimed_by FROM tasks") == \
        [("claimed", "wangwu")]

    await service.tap("WangWu", warehouse, "done", "rc-w3")
    await eventually(lambda: len(updates_to(fake, "WangWu")) >= 2)
    await service.tap("WangWu", warehouse, "done", "rc-w4")
    told = await eventually(lambda: [t for t in texts_to(fake, "WangWu") if "处理" in t])
    assert told == ["此卡片已由 王五 处理"]
    assert await service.rows("SELECT status, closed_by, version FROM tasks") == \
        [("done", "wangwu", 3)]
    assert await order_events(service.db, ORDER.key, "task_claimed") == 1
    assert await order_events(service.db, ORDER.key, "task_done") == 1
    assert await service.rows("SELECT key FROM timers WHERE key = :k", k=timer) == []
    # the asker's copy shows who finished it: its send's response_code went on the claim
    # update (a code works once), so the final state reaches him as a markdown message
    assert len(updates_to(fake, "ZhangSan")) == 1
    last = [r.body["markdown"]["content"] for r in fake.calls(SEND)
            if r.body["touser"] == "ZhangSan" and r.body["msgtype"] == "markdown"][-1]
    assert "王五" in last and f"任务：急单 {ORDER.key}" in last


async def test_withdrawing_the_urgent_request_closes_its_task(service: WeComChat) -> None:
    fake = service.fake
    await ingest(service.db, ORDER)
    await service.say("ZhangSan", f"急单 {NO}")
    await eventually(lambda: cards_to(fake, "WangWu"))
    await service.say("ZhangSan", "不急了")
    reply = (await eventually(lambda: texts_to(fake, "ZhangSan")))[-1]
    assert reply.startswith("已撤销急单任务") and "优先级已恢复为普通" in reply
    assert await service.rows("SELECT status, closed_by FROM tasks") == \
        [("cancelled", "zhangsan")]
    assert await service.rows("SELECT priority FROM orders") == [(0,)]
    assert await order_events(service.db, ORDER.key, "priority_lowered") == 1
    assert await order_events(service.db, ORDER.key, "task_cancelled") == 1
    await eventually(lambda: updates_to(fake, "WangWu"))  # the warehouse card says so
    assert await service.rows("SELECT count(*) FROM timers WHERE kind = 'task.overdue'") == \
        [(0,)]


async def test_address_changes_and_questions(service: WeComChat) -> None:
    fake = service.fake
    await ingest(service.db, ORDER, ALLOCATED)
    await service.say("ZhangSan", f"{NO} 改地址 浙江省杭州市西湖区文三路 90 号")
    reply = (await eventually(lambda: texts_to(fake, "ZhangSan")))[-1]
    assert reply.startswith(f"已将订单 {ORDER.key} 的收货地址改为：浙江省杭州市西湖区文三")
    assert "90号" not in reply  # the street is masked even in the confirmation
    assert await service.rows(
        "SELECT receiver_province, receiver_city, receiver_district, receiver_address "
        "FROM orders WHERE channel_order_id = :n", n=NO) == \
        [("浙江省", "杭州市", "西湖区", "文三路90号")]
    assert await order_events(service.db, ORDER.key, "address_changed") == 1

    await service.say("ZhangSan", f"{ALLOCATED.channel_order_id} 改地址 北京市朝阳区建国路 88 号")
    proposed = await eventually(lambda: [t for t in texts_to(fake, "ZhangSan") if "提议" in t])
    assert "分仓后改地址" in proposed[0] and "需主管确认" in proposed[0]
    gate = await eventually(lambda: cards_to(fake, "LiSi"))
    assert "分仓后改地址" in title(gate[0])
    assert await service.rows("SELECT receiver_city FROM orders WHERE channel_order_id = :n",
                              n=ALLOCATED.channel_order_id) == [("杭州市",)]  # not yet

    await service.say("ZhangSan", f"{NO} 改地址 西湖区文三路 100 号")
    asked = await eventually(lambda: [t for t in texts_to(fake, "ZhangSan") if "哪个城市" in t])
    assert "杭州市" in asked[0] and "南昌市" in asked[0]
    await service.say("ZhangSan", "急单 今天必须发")
    which = await eventually(lambda: [t for t in texts_to(fake, "ZhangSan")
                                      if t.startswith("哪个订单？")])
    assert which and await service.rows("SELECT count(*) FROM tasks") == [(0,)]


async def test_customer_gets_the_masked_answer_and_a_stranger_nothing(service: WeComChat) -> None:
    fake = service.fake
    await ingest(service.db, SHIPPED)
    deps = service.app[TRACKING]
    now = utcnow()
    parcel = Parcel("SF", "SF1400000071", SHIPPED.key, SHIPPED.channel, "wms", now)
    await register_parcel(deps, parcel, now=now)
    scan = TraceLine(now - timedelta(hours=3), "快件到达【杭州转运中心】")
    await apply_report(deps, TrackReport("kuaidi100", "SF", "SF1400000071",
                                         TrackingState.IN_TRANSIT, "0", (scan,)), now=now)
    number = SHIPPED.channel_order_id

    await service.say("Buyer71", f"我的快递到哪了 {number} 尾号0071")
    (answer,) = await eventually(lambda: texts_to(fake, "Buyer71"))
    assert answer.startswith(f"订单 {number}：运输中")
    assert "SF1400000071" in answer and "杭州转运中心" in answer
    assert "138****0071" in answer and "13800000071" not in answer
    assert "文三路" not in answer  # the street is masked

    await service.say("Mallory", f"我的快递到哪了 {number}")
    assert await eventually(lambda: texts_to(fake, "Mallory")) == [NEED_PROOF]
    await service.say("Mallory", f"我的快递到哪了 {number} 尾号1234")
    replies = await eventually(lambda: len(texts_to(fake, "Mallory")) >= 2
                               and texts_to(fake, "Mallory"))
    assert replies[1] == NO_MATCH
    for reply in replies:  # nothing about the order or its receiver
        assert "0071" not in reply and "杭州" not in reply and "运输" not in reply
    assert cards_to(fake, "Mallory") == []
    await service.say("Buyer71", f"{number} 到哪了")  # bound now: no proof needed again
    second = await eventually(lambda: len(texts_to(fake, "Buyer71")) >= 2
                              and texts_to(fake, "Buyer71"))
    assert "138****0071" in second[1]
