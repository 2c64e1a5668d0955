"""WeCom through the real service: ``build_app(config)`` with ``[wecom] enabled`` mounts
``/callbacks/wecom`` and sends through the fake WeCom API; every callback is really encrypted
and signed (tests/fakes/wecom.py, written independently of bot/wecom/crypto.py).

Transcript: WeCom verifies the URL; 张三 (ZhangSan, agent) writes "查单 <id>" -> a
template_card with the order goes to him by message/send (phone masked); a stranger is
refused politely. A suspected-duplicate card reaches both agents; a forged click (bad
signature) is answered 401 and changes nothing; 王五 (warehouse) is refused by role; 张三's
click is retried by WeCom (same callback) and tapped again -> one effect, his card updated by
update_template_card with the click's ResponseCode (buttons greyed "张三 确认不是重复"),
the other agent's card updated with the ResponseCode of its own send.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from core.people import REFUSAL_UNKNOWN_STAFF
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
    AES_KEY,
    UPDATE,
    WeComChat,
    button_key,
    sent,
    texts_to,
    wecom_chat,
)
from tests.fakes.wecom import (
    FakeWeCom,
    WeComSender,
    card_event_xml,
    post_callback,
    text_xml,
    verify_callback_url,
)


@pytest.fixture
async def service(sqlite_url: str) -> AsyncIterator[WeComChat]:
    async with FakeWeCom() as fake, wecom_chat(fake, sqlite_url) as chat:
        yield chat


async def test_order_card_by_typing_and_strangers_refused(service: WeComChat) -> None:
    fake = service.fake
    assert await verify_callback_url(service.http, service.url, service.wecom, "echo-42") == \
        (200, "echo-42")
    await ingest(service.db, ORDER)
    text = text_xml(fake.corp_id, "ZhangSan", f"查单 {ORDER.channel_order_id}", "9001")
    assert await service.post(text) == (200, "success")
    (card,) = await eventually(lambda: sent(fake, "ZhangSan", "template_card"))
    template = card.body["template_card"]
    assert template["card_type"] == "button_interaction"
    assert template["main_title"]["title"] == f"订单 {ORDER.key}"
    rows = {row["keyname"]: row["value"] for row in template["horizontal_content_list"]}
    assert "138****" in rows["收件人"] and "文三路" not in rows["地址"]
    assert card.query["access_token"].startswith("tok-")

    stranger = text_xml(fake.corp_id, "Mallory", f"查单 {ORDER.channel_order_id}", "9002")
    assert await service.post(stranger) == (200, "success")
    assert await eventually(lambda: texts_to(fake, "Mallory")) == [REFUSAL_UNKNOWN_STAFF]
    assert sent(fake, "Mallory", "template_card") == []


async def test_duplicate_card_click_acts_once_and_updates_the_card(service: WeComChat) -> None:
    fake, db = service.fake, service.db
    await ingest(db, ORDER, TWIN)
    record = await announce(db, ["wecom"])
    (card,) = await eventually(lambda: sent(fake, "ZhangSan", "template_card"))
    await eventually(lambda: sent(fake, "LiSi", "template_card"))
    task_id, key = card.body["template_card"]["task_id"], button_key(card, "not_duplicate")
    assert task_id.startswith(record.card_id + "@")

    forged = card_event_xml(fake.corp_id, "ZhangSan", key, task_id, "rc-forged")
    assert (await service.post(forged, signature="0" * 40))[0] == 401
    impostor = WeComSender("guessed-token", AES_KEY, fake.corp_id)
    status, _ = await post_callback(service.http, service.url, forged, impostor)
    assert status == 401
    warehouse = card_event_xml(fake.corp_id, "WangWu", key, task_id, "rc-wangwu")
    assert await service.post(warehouse) == (200, "success")
    assert "需要客服或主管权限" in (await eventually(lambda: texts_to(fake, "WangWu")))[0]
    assert fake.calls(UPDATE) == [] and await open_anomalies(db, TWIN.key) == 1

    tap = card_event_xml(fake.corp_id, "ZhangSan", key, task_id, "rc-tap-1")
    assert await service.post(tap) == (200, "success")
    assert await service.post(tap) == (200, "success")  # WeCom retries the same callback
    again = card_event_xml(fake.corp_id, "ZhangSan", key, task_id, "rc-tap-2")
    assert await service.post(again) == (200, "success")  # the double tap: a new ResponseCode
    updates = await eventually(lambda: len(fake.calls(UPDATE)) >= 2 and fake.calls(UPDATE))
    # Either tap may reach a worker first; exactly one of them acts and answers with its code.
    mine = [u for u in updates if u.body["userids"] == ["ZhangSan"]]
    assert len(mine) == 1 and mine[0].body["response_code"] in {"rc-tap-1", "rc-tap-2"}
    other = [u for u in updates if u.body["userids"] == ["LiSi"]]
    assert other and other[0].body["response_code"].startswith("rc-")  # from LiSi's send
    assert {u.body["button"]["replace_name"] for u in updates} == {"张三 确认不是重复"}
    told = await eventually(lambda: [t for t in texts_to(fake, "ZhangSan") if "处理" in t])
    assert "此卡片已由 张三 处理" in told[0]
    assert await order_events(db, TWIN.key, "anomaly_resolved") == 1
    assert await open_anomalies(db, TWIN.key) == 0
    assert [r for r in fake.calls(UPDATE) if r.body["response_code"] == "rc-forged"] == []
