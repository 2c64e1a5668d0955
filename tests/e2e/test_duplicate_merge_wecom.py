"""The duplicate card's gated merge on WeCom, through the real service and the fake WeCom API:
clicks are real encrypted, signed ``template_card_event`` callbacks; cards leave by
message/send and change by update_template_card.

Transcript: the duplicate card reaches 张三 (ZhangSan) and 李四 (LiSi, supervisor and agent).
张三 taps 确认重复 (WeCom retries the callback): 李四 gets the merge card; both duplicate
copies are greyed "张三 提出合并…" (张三's with his click's ResponseCode, 李四's with the code
of its send). 李四 taps 确认 (twice): merged once; the gate card greyed "李四 确认"; the
duplicate copies show the merge: 张三's by the code of its send (still unused), 李四's, whose
code is spent, as a markdown message. No response_code is used twice (WeCom accepts each once,
doc 94888); 张三 is told.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from bot.config import InboxConfig
from tests.e2e.chat_store import (
    ORDER,
    TWIN,
    announce,
    eventually,
    ingest,
    open_anomalies,
    order_events,
)
from tests.e2e.wecom_service import (
    UPDATE,
    WeComChat,
    cards_to,
    markdown_to,
    send_code,
    texts_to,
    wecom_chat,
)
from tests.fakes.wecom import FakeWeCom


@pytest.fixture
async def service(sqlite_url: str) -> AsyncIterator[WeComChat]:
    inbox = InboxConfig(backend="sql", reclaim_idle_s=2.0, poll_ms=20)
    async with FakeWeCom() as fake, wecom_chat(fake, sqlite_url, inbox=inbox) as chat:
        yield chat


async def test_merge_on_wecom_updates_every_copy_without_reusing_a_response_code(
        service: WeComChat) -> None:
    fake, db = service.fake, service.db
    await ingest(db, ORDER, TWIN)
    record = await announce(db, ["wecom"])
    (mine,) = await eventually(lambda: cards_to(fake, "ZhangSan", "疑似重复订单"))
    (his,) = await eventually(lambda: cards_to(fake, "LiSi", "疑似重复订单"))

    await service.tap("ZhangSan", mine, "confirm_duplicate", "rc-z1")
    await service.tap("ZhangSan", mine, "confirm_duplicate", "rc-z1")  # WeCom's retry
    (gate,) = await eventually(lambda: cards_to(fake, "LiSi", "待确认：合并重复订单"))
    rows = {row["keyname"]: row["value"] for row in
            gate.body["template_card"]["horizontal_content_list"]}
    # WeCom shows six rows: the order, its state, amount, buyer, the kept order, and the
    # start of the evidence (the web chat and DingTalk show every row)
    assert rows["订单"] == TWIN.key and rows["保留订单"] == ORDER.key and len(rows) == 6
    greyed = await eventually(lambda: fake.calls(UPDATE) if len(fake.calls(UPDATE)) >= 2
                              else [])
    by_user = {u.body["userids"][0]: u.body for u in greyed}
    assert by_user["ZhangSan"]["response_code"] == "rc-z1"
    assert by_user["LiSi"]["response_code"] == send_code(fake, his)
    assert by_user["ZhangSan"]["button"]["replace_name"].startswith("张三 提出合并")

    await service.tap("LiSi", gate, "gate_confirm", "rc-l1")
    await service.tap("LiSi", gate, "gate_confirm", "rc-l2")  # the double tap
    told = await eventually(lambda: [t for t in texts_to(fake, "ZhangSan") if "已合并" in t])
    assert "已被 李四 确认：已合并" in told[0]
    shown = await eventually(lambda: [m for m in markdown_to(fake, "LiSi")
                                      if "疑似重复订单" in m])
    assert "已由 李四 确认合并重复订单" in shown[0]  # his spent copy: the new state as a message
    final = await eventually(lambda: [u.body for u in fake.calls(UPDATE)
                                      if u.body["userids"] == ["ZhangSan"]][1:])
    assert final[0]["response_code"] == send_code(fake, mine)  # his send's code, unused so far
    assert final[0]["button"]["replace_name"].startswith("李四 确认")
    gate_done = await eventually(lambda: [u.body for u in fake.calls(UPDATE)
                                          if u.body["response_code"] in {"rc-l1", "rc-l2"}])
    assert len(gate_done) == 1 and gate_done[0]["button"]["replace_name"] == "李四 确认"

    used = Counter(u.body["response_code"] for u in fake.calls(UPDATE))
    assert used and max(used.values()) == 1, used  # each code once, as WeCom requires
    assert await order_events(db, TWIN.key, "merged_into") == 1
    assert await order_events(db, TWIN.key, "state_changed") == 1
    assert await order_events(db, ORDER.key, "merged_from") == 1
    assert await open_anomalies(db, TWIN.key) == 0
    assert record.card_id in mine.body["template_card"]["task_id"]
