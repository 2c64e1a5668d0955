"""A C freeze holds the order until a confirmed gated release (issue 5), through the real
service: signed 拼多多 pushes to the real webhook, the SQL inbox and workers, the health checks
in the ingest transaction, and the fake WeCom API; every chat message is a real encrypted,
signed WeCom callback (text messages, template_card_event clicks; tests/fakes/wecom.py).

Transcript: 拼多多 pushes a paid custom corner sofa whose remark says "进深 50cm" (the workshop
cannot make one under 60 cm): the order is frozen (CUSTOM_SPEC_CONFLICT, C) and 孙七
(SunQi, production) gets the card with the evidence (as a WeCom markdown message: a C card has
no buttons). 拼多多 then pushes it as shipped: a held order does not advance, so the status is
kept for the release (issue 3: a ``channel_status_deferred`` event, no dead letter, no card to
赵六, ops), the order stays paid and 孙七 gets the card again with a 【渠道】 line saying what
the channel reported. 张三 (agent) types "申请解冻 <订单号> <原因>": both
supervisors (李四, 钱七) get the gate card; 张三 himself, and 孙七, tapping 确认 are refused
(server-side role check) and nothing changes. 李四 rejects: the order stays frozen (the same
shipped push again is a duplicate and records nothing). 张三 asks again; 李四 taps 确认 twice
and 钱七 taps after him: one release (one gate_confirmed, one anomaly_resolved, the anomaly
resolved as ``gated``) that also moves the order to the kept status (label_printed, in the
release's transaction), every copy updated (李四's by his click's ResponseCode, 钱七's by her
send's, 孙七's C card as a message saying who released it), 张三 told, 钱七 told it was
handled. 拼多多's next push (shipped) changes nothing more. No WeCom response_code is used
twice (doc 94888).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import InboxConfig
from bot.demo.data import CUSTOM_SKUS
from bot.demo.generator import OrderGenerator, Stage, Variant
from bot.demo.setup import DEMO_RULE
from bot.health_config import HealthConfig
from bot.people_config import PersonConfig
from tests.e2e.chat_store import eventually
from tests.e2e.chat_support import ServiceClock
from tests.e2e.demo_orders import SHOPS
from tests.e2e.wecom_service import (
    UPDATE,
    WeComChat,
    cards_to,
    markdown_to,
    send_code,
    sent,
    texts_to,
    wecom_chat,
)
from tests.fakes.wecom import FakeWeCom, Recorded

PDD = SHOPS["pdd"]
STAFF = (
    PersonConfig(id="zhangsan", name="张三", roles=("agent",), wecom_user_id="ZhangSan"),
    PersonConfig(id="lisi", name="李四", roles=("supervisor",), wecom_user_id="LiSi"),
    PersonConfig(id="qianqi", name="钱七", roles=("supervisor",), wecom_user_id="QianQi"),
    PersonConfig(id="sunqi", name="孙七", roles=("production",), wecom_user_id="SunQi"),
    PersonConfig(id="zhaoliu", name="赵六", roles=("ops",), wecom_user_id="ZhaoLiu"),
)
CONFLICT = "CUSTOM_SPEC_CONFLICT"


@pytest.fixture
async def service(sqlite_url: str) -> AsyncIterator[WeComChat]:
    """The service with the 拼多多 demo shop; its SLA timer worker's clock stands still, so no
    escalation or gate expiry fires during the test."""
    health = HealthConfig(custom_skus=dict(CUSTOM_SKUS), custom=(DEMO_RULE,))
    async with FakeWeCom() as fake, wecom_chat(
            fake, sqlite_url, inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0, poll_ms=20),
            people=STAFF, clock=ServiceClock(), shops=(PDD,), health=health) as chat:
        yield chat


def gate_cards(fake: FakeWeCom, user: str) -> list[Recorded]:
    return cards_to(fake, user, "待确认：解冻订单")


def updates_with(fake: FakeWeCom, codes: set[str]) -> list[dict[str, Any]]:
    return [u.body for u in fake.calls(UPDATE) if u.body["response_code"] in codes]


STATUS = "SELECT status FROM orders WHERE channel = 'pdd' AND channel_order_id = :c"
EVENTS = "SELECT count(*) FROM order_events WHERE order_key = :k AND kind = :kind"
ANOMALY = "SELECT {} FROM anomalies WHERE order_key = :k AND code = '" + CONFLICT + "'"
ESCALATIONS = "SELECT count(*) FROM timers WHERE kind = 'anomaly.escalate'"
LETTERS = "SELECT count(*) FROM dead_letters WHERE source = 'webhook:pdd'"


async def test_c_freeze_holds_the_order_until_a_confirmed_release(service: WeComChat) -> None:
    fake = service.fake
    sofa = OrderGenerator(random.Random(11)).order("pdd", datetime.now(UTC),
                                                   Variant.CUSTOM_CONFLICT)
    key, ref = f"pdd:{sofa.order_id}", sofa.order_id
    assert sofa.stage is Stage.PAID

    # 1. the push that freezes: a C card to production, with the evidence
    assert await service.push(sofa) == 200
    (frozen,) = await eventually(lambda: markdown_to(fake, "SunQi", "定制图纸与工艺冲突"))
    assert await service.value(ESCALATIONS) == 1
    assert "depth_cm=50" in frozen and "订单已冻结" in frozen and key in frozen
    assert await service.value(ANOMALY.format("status"), k=key) == "open"
    assert await service.value(ANOMALY.format("blocking"), k=key) in (1, True)
    assert await service.value(STATUS, c=ref) == "paid"
    assert sent(fake, "ZhangSan", "markdown") == sent(fake, "ZhangSan", "template_card") == []

    # 2. the channel says shipped: kept for the release (a held order does not advance)
    shipped = replace(sofa, stage=Stage.SHIPPED, updated_at=sofa.updated_at + timedelta(hours=1))
    assert await service.push(shipped) == 200
    assert await service.until(EVENTS, 1, k=key, kind="channel_status_deferred") == 1
    (news,) = await eventually(lambda: markdown_to(fake, "SunQi", "【渠道】"))
    assert "渠道报告「已打单」" in news and "解除后自动" in news and "定制图纸与工艺冲突" in news
    counts = "SELECT received, stored, duplicates, dead_lettered FROM channel_counters"
    assert await service.value(counts) == (2, 2, 0, 0)
    assert await service.value(LETTERS) == 0
    assert await service.value(STATUS, c=ref) == "paid"
    assert await service.value(EVENTS, k=key, kind="state_changed") == 0

    # 3. 张三 proposes the release; both supervisors get the gate card
    await service.say("ZhangSan", f"申请解冻 {ref} 生产确认可按 60cm 制作")
    (filed,) = await eventually(lambda: texts_to(fake, "ZhangSan", "已提交"))
    assert "「解冻订单」提议 #" in filed and key in filed
    (first,) = await eventually(lambda: gate_cards(fake, "LiSi"))
    await eventually(lambda: gate_cards(fake, "QianQi"))
    template = first.body["template_card"]
    assert "原因：生产确认可按 60cm 制作" in template["sub_title_text"]
    rows = {row["keyname"]: row["value"] for row in template["horizontal_content_list"]}
    assert rows["订单"] == key
    assert [b["text"] for b in template["button_list"]] == ["确认", "拒绝"]

    # 4. nobody but a supervisor decides: the proposer and production are refused
    await service.tap("ZhangSan", first, "gate_confirm", "rc-zhangsan")
    await service.tap("SunQi", first, "gate_confirm", "rc-sunqi")
    assert await eventually(lambda: texts_to(fake, "ZhangSan", "需要主管确认"))
    assert await eventually(lambda: texts_to(fake, "SunQi", "需要主管确认"))
    assert updates_with(fake, {"rc-zhangsan", "rc-sunqi"}) == []
    assert await service.value(ANOMALY.format("status"), k=key) == "open"
    assert await service.value("SELECT state FROM gate_proposals") == "proposed"

    # 5. 李四 rejects: still frozen; the channel's same report again records nothing
    await service.tap("LiSi", first, "gate_reject", "rc-l-reject")
    (rejected,) = await eventually(lambda: texts_to(fake, "ZhangSan", "拒绝"))
    assert "已被 李四 拒绝，未执行" in rejected
    (greyed,) = await eventually(lambda: updates_with(fake, {"rc-l-reject"}))
    assert greyed["button"]["replace_name"] == "李四 拒绝"
    await eventually(lambda: [u for u in fake.calls(UPDATE) if u.body["userids"] == ["QianQi"]])
    assert await service.value(ANOMALY.format("status"), k=key) == "open"
    assert await service.value(EVENTS, k=key, kind="gate_rejected") == 1
    again = replace(shipped, updated_at=shipped.updated_at + timedelta(minutes=5))
    assert await service.push(again) == 200
    # the same kept status again: counted as a duplicate, no second deferral, no second news
    assert await service.until(counts, (3, 2, 1, 0)) == (3, 2, 1, 0)
    assert await service.value(EVENTS, k=key, kind="channel_status_deferred") == 1
    assert len(markdown_to(fake, "SunQi", "【渠道】")) == 1
    assert await service.value(STATUS, c=ref) == "paid"

    # 6. asked again; 李四 confirms with a double tap, 钱七 taps after him: one release
    await service.say("ZhangSan", f"申请解冻 pdd:{ref} 已与客户确认改为 60cm")
    second = (await eventually(lambda: gate_cards(fake, "LiSi")[1:]))[0]
    hers = (await eventually(lambda: gate_cards(fake, "QianQi")[1:]))[0]
    await service.tap("LiSi", second, "gate_confirm", "rc-l1")
    await service.tap("LiSi", second, "gate_confirm", "rc-l2")  # the double tap
    (told,) = await eventually(lambda: texts_to(fake, "ZhangSan", "确认："))
    assert "已被 李四 确认：冻结已解除，订单可继续流转" in told
    await service.tap("QianQi", hers, "gate_confirm", "rc-q1")
    assert await eventually(lambda: texts_to(fake, "QianQi", "此卡片已由 李四 处理"))

    assert await service.value(ANOMALY.format("status"), k=key) == "resolved"
    assert await service.value(ANOMALY.format("resolution"), k=key) == "gated"
    assert await service.value(ANOMALY.format("resolved_by"), k=key) == "lisi"
    assert await service.value(EVENTS, k=key, kind="gate_confirmed") == 1
    assert await service.value(EVENTS, k=key, kind="anomaly_resolved") == 1
    # the release moved the order to what the channel reported while it was frozen
    assert await service.value(STATUS, c=ref) == "label_printed"
    assert await service.value(EVENTS, k=key, kind="channel_status_applied") == 1
    assert await service.value(EVENTS, k=key, kind="state_changed") == 3  # allocation, print
    assert await service.value("SELECT count(*) FROM gate_proposals WHERE state = 'executed'"
                               ) == 1
    assert await service.value("SELECT count(*) FROM timers WHERE kind = 'gate.expire'") == 0
    assert await service.value(ESCALATIONS) == 0  # the freeze's SLA timer went with it
    async with service.http.get(f"{service.base}/metrics") as response:
        assert 'orderbot_anomalies_closed_total{resolution="gated"} 1.0' in await response.text()

    # every copy: 李四's by one of his clicks, 钱七's by her send's code, 孙七's C card anew
    mine = await eventually(lambda: updates_with(fake, {"rc-l1", "rc-l2"}))
    assert len(mine) == 1 and mine[0]["button"]["replace_name"] == "李四 确认"
    theirs = await eventually(lambda: updates_with(fake, {send_code(fake, hers)}))
    assert theirs[0]["userids"] == ["QianQi"] and theirs[0]["button"]["replace_name"] == \
        "李四 确认"
    assert updates_with(fake, {"rc-q1"}) == []  # her late tap changed nothing
    (released,) = await eventually(lambda: markdown_to(fake, "SunQi", "确认解冻订单"))
    assert "已由 李四 确认解冻订单" in released and "定制图纸与工艺冲突" in released
    used = Counter(u.body["response_code"] for u in fake.calls(UPDATE))
    assert max(used.values()) == 1, used  # each code once, as WeCom requires

    # 7. released: the channel's next push (still shipped) has nothing left to change
    later = replace(again, updated_at=again.updated_at + timedelta(minutes=5))
    assert await service.push(later) == 200
    assert await service.until(counts, (4, 2, 2, 0)) == (4, 2, 2, 0)
    assert await service.value(STATUS, c=ref) == "label_printed"
    assert await service.value(EVENTS, k=key, kind="state_changed") == 3
    assert await service.value(LETTERS) == 0 and sent(fake, "ZhaoLiu", "template_card") == []
