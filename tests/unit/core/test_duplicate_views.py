"""The duplicate card around a merge proposal, and the merge card's evidence (masked)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from core.anomalies import AnomalyCode, open_anomaly
from core.card_views import suspected_duplicate
from core.duplicate_views import (
    PROPOSAL_FIELD,
    awaiting_merge,
    merge_evidence,
    merge_reason,
    reopened,
)
from tests.factories import T0, make_order

KEEP = make_order(7)
TWIN = make_order(7, channel="jd", created_at=KEEP.created_at + timedelta(seconds=40))
ANOMALY = replace(open_anomaly(TWIN.key, AnomalyCode.SUSPECTED_DUPLICATE, at=T0,
                               reason="同一买家在 taobao 的订单与本单商品相同",
                               data={"other": KEEP.key}), id=9)


def test_evidence_shows_both_orders_masked() -> None:
    rows = dict(merge_evidence(TWIN, KEEP, ANOMALY))
    assert rows["将取消（重复单）"].startswith(f"{TWIN.key}：已付款")
    assert rows["将保留"].startswith(f"{KEEP.key}：")
    for text in (rows["将取消（重复单）"], rows["将保留"]):
        assert "138****" in text and str(TWIN.receiver.phone) not in text  # phone masked
        assert "文三路" not in text and "张*" in text  # street and name masked
        assert "浙江省杭州市西湖区" in text
    missing = dict(merge_evidence(TWIN, None, ANOMALY))
    assert missing["将保留"] == f"{KEEP.key}：（未找到）"
    assert merge_reason(ANOMALY).endswith(ANOMALY.reason)


def test_waiting_card_has_no_buttons_and_reopens_with_them() -> None:
    card = suspected_duplicate("dup-1", ANOMALY)
    waiting = awaiting_merge(card, "张三", 4, T0 + timedelta(hours=1), T0)
    assert waiting.card.buttons == () and waiting.handled_by is None  # still open
    assert waiting.version == card.version + 1
    assert waiting.card.status == "已由 张三 提出合并（待主管确认） 10:00"
    assert dict(waiting.card.fields)[PROPOSAL_FIELD] == "#4 待主管确认，截止 2026-11-11 11:00"
    again = reopened(waiting, ANOMALY, "#4 已被 李四 拒绝 10:05，两单均保留，请重新判断")
    assert again.card.buttons == card.card.buttons and again.card.status == ""
    assert again.version == card.version + 2 and again.handled_by is None
    assert [k for k, _ in again.card.fields].count(PROPOSAL_FIELD) == 1  # replaced, not added
