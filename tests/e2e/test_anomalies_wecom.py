"""A and B anomalies of pushed orders on WeCom (issue 5), through the real service: signed
channel pushes to the real webhooks, the SQL inbox and workers, the health checks in the ingest
transaction, the SLA timer worker on an injected clock ("two minutes later" moves it), and the
fake WeCom API; every chat message is a real encrypted, signed WeCom callback.

Transcript A: 有赞 pushes an order without an address: 张三 (ZhangSan, agent) gets the template
card "[A] 收货地址缺失" with "已补录"; 李四 (supervisor) gets nothing. 100 s later nothing has
happened; at 2 min the SLA timer escalates: 李四 gets "【升级】[A] 收货地址缺失" and 张三's card
is updated in place to say it was escalated. 张三 taps "已补录", is asked for the address,
replies with it: the order's address is updated, the anomaly is closed (``manual``), both cards
are closed (updated in place, or as a message when the card's response_code is spent), the
timer is gone.

Transcript B: the stock snapshot has the grey sofa at 0 and the beige one at 35; 淘宝 pushes an
order for the grey one: 张三 gets "[B] 缺货（有替代品）" with "替换为 SOFA-BEI-2"; he taps it twice
(WeCom gives each tap a new ResponseCode): the order's line changes once, the card is greyed
"张三 替换为…". No response_code is used twice (WeCom accepts each once, doc 94888).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.config import InboxConfig
from bot.demo.generator import Variant
from bot.health_config import HealthConfig
from bot.people_config import PersonConfig
from storage.db import create_engine
from storage.health import load_stock
from tests.e2e.chat_store import eventually
from tests.e2e.chat_support import ServiceClock
from tests.e2e.demo_orders import DEMO_SUBSTITUTES, SHOPS, made
from tests.e2e.wecom_service import (
    SEND,
    UPDATE,
    WeComChat,
    cards_to,
    sent,
    texts_to,
    updates_to,
    wecom_chat,
)
from tests.fakes.wecom import FakeWeCom

STAFF = (
    PersonConfig(id="zhangsan", name="张三", roles=("agent",), wecom_user_id="ZhangSan"),
    PersonConfig(id="lisi", name="李四", roles=("supervisor",), wecom_user_id="LiSi"),
)
ADDRESS = "浙江省杭州市西湖区文三路 100 号 3 幢"


@pytest.fixture
def clock() -> ServiceClock:
    """What the SLA timer worker sees as now: the test moves it instead of sleeping."""
    return ServiceClock()


@pytest.fixture
async def service(sqlite_url: str, clock: ServiceClock) -> AsyncIterator[WeComChat]:
    async with FakeWeCom() as fake, wecom_chat(
            fake, sqlite_url, inbox=InboxConfig(backend="sql", reclaim_idle_s=2.0, poll_ms=20),
            people=STAFF, clock=clock, shops=tuple(SHOPS.values()), health=HealthConfig(),
            substitutes=DEMO_SUBSTITUTES) as chat:
        yield chat


def shown_to(fake: FakeWeCom, user: str, containing: str) -> list[str]:
    """What ``user`` sees of a card's new state: an in-place update (its title and status, or
    its greyed buttons) or, when no response_code is left, a markdown message."""
    seen = [str(u.body.get("template_card", {}).get("main_title", {}).get("desc", "")) +
            str(u.body.get("button", {}).get("replace_name", "")) for u in updates_to(fake, user)]
    seen += [r.body["markdown"]["content"] for r in sent(fake, user, "markdown")]
    return [s for s in seen if containing in s]


ANOMALY = "SELECT {} FROM anomalies WHERE order_key = :k AND code = :c"


async def test_a_card_escalates_after_two_minutes_and_the_fix_closes_both(
        service: WeComChat, clock: ServiceClock) -> None:
    fake = service.fake
    order = made("youzan", Variant.MISSING_ADDRESS)
    key = f"youzan:{order.order_id}"
    assert await service.push(order) == 200
    (card,) = await eventually(lambda: cards_to(fake, "ZhangSan", "[A] 收货地址缺失"))
    template = card.body["template_card"]
    assert [b["text"] for b in template["button_list"]] == ["已补录"]
    shown = {r["keyname"]: r["value"] for r in template["horizontal_content_list"]}["订单"]
    assert shown == (key if len(key) <= 26 else key[:25] + "…")  # WeCom rows: <= 26 chars
    assert [r for r in fake.calls(SEND) if r.body["touser"] == "LiSi"] == []
    assert await service.value(ANOMALY.format("status"), k=key, c="ADDRESS_MISSING") == "open"

    clock.advance(100)  # not yet
    await asyncio.sleep(0.6)
    assert await service.value(ANOMALY.format("level"), k=key, c="ADDRESS_MISSING") == 0
    clock.advance(30)  # two minutes untouched
    (up,) = await eventually(lambda: cards_to(fake, "LiSi", "【升级】[A] 收货地址缺失"))
    assert "客服超时未处理，已升级给您" in str(up.body["template_card"])
    noted = await eventually(lambda: shown_to(fake, "ZhangSan", "已升级给主管"))
    assert len(noted) == 1

    await service.tap("ZhangSan", card, "fix", "rc-z-fix")
    assert await eventually(lambda: texts_to(fake, "ZhangSan", "请直接回复正确的收货地址"))
    await service.say("ZhangSan", ADDRESS)
    assert await eventually(lambda: texts_to(fake, "ZhangSan", "已补录"))
    mine = await eventually(lambda: shown_to(fake, "ZhangSan", "张三 补录"))
    theirs = await eventually(lambda: shown_to(fake, "LiSi", "张三 补录"))
    assert len(mine) == len(theirs) == 1
    assert await service.value("SELECT receiver_address FROM orders WHERE channel_order_id = :c",
                               c=order.order_id) == ADDRESS
    assert await service.value(ANOMALY.format("resolution"), k=key, c="ADDRESS_MISSING") \
        == "manual"
    assert await service.value("SELECT count(*) FROM timers WHERE kind = 'anomaly.escalate'") \
        == 0
    used = Counter(u.body["response_code"] for u in fake.calls(UPDATE))
    assert max(used.values()) == 1, used  # each code once, as WeCom requires


async def test_b_substitute_tap_changes_the_line_once(service: WeComChat) -> None:
    fake = service.fake
    engine = create_engine(service.db)
    async with engine.begin() as conn:
        await load_stock(conn, {"SOFA-GRY-2": 0, "SOFA-BLU-2": 0, "SOFA-BEI-2": 35},
                         at=datetime.now(UTC))
    await engine.dispose()
    sofa = made("taobao", Variant.OUT_OF_STOCK)
    key = f"taobao:{sofa.order_id}"
    assert await service.push(sofa) == 200
    (card,) = await eventually(lambda: cards_to(fake, "ZhangSan", "[B] 缺货（有替代品）"))
    buttons = card.body["template_card"]["button_list"]
    assert [b["text"] for b in buttons] == ["替换为 SOFA-BEI-2"[:9] + "…"]  # WeCom: 10 chars

    await service.tap("ZhangSan", card, "sub_0", "rc-z1")
    await service.tap("ZhangSan", card, "sub_0", "rc-z2")  # the double tap
    (done,) = await eventually(lambda: [u.body for u in updates_to(fake, "ZhangSan")
                                        if u.body["response_code"] in {"rc-z1", "rc-z2"}])
    assert done["button"]["replace_name"].startswith("张三 替换为")
    assert await service.value(
        "SELECT l.sku FROM order_lines l JOIN orders o ON o.id = l.order_id "
        "WHERE o.channel = 'taobao' AND o.channel_order_id = :c", c=sofa.order_id) \
        == "SOFA-BEI-2"
    assert await service.value("SELECT count(*) FROM order_events WHERE order_key = :k AND "
                               "kind = 'lines_substituted'", k=key) == 1
    assert await service.value(ANOMALY.format("resolution"), k=key,
                               c="OUT_OF_STOCK_SUBSTITUTE") == "suggestion"
