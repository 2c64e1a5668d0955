"""Pure pieces of the unasked cards: pacing windows, audiences, and what the cards show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.audience import Audience, parse_audience
from core.card_pacing import Pacing, SourceCount
from core.card_views import dead_letter, dead_letter_digest, new_order
from core.cards import CardKind
from core.people import Role, UnknownRoleError
from tests.factories import make_order

AT = datetime(2026, 11, 11, 2, 7, 30, tzinfo=UTC)


def test_windows_are_epoch_aligned_so_every_process_agrees() -> None:
    pacing = Pacing(limit=5, window_s=600)
    start = pacing.window_of(AT)
    assert start == datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    assert pacing.window_of(start + timedelta(seconds=599)) == start
    assert pacing.window_end(start) == pacing.window_of(start + timedelta(seconds=600))


@pytest.mark.parametrize(("count_after", "n", "singles"), [
    (1, 1, 1), (5, 1, 1), (6, 1, 0), (7, 3, 1), (8, 3, 0), (4, 4, 4), (8, 4, 1), (5, 5, 5),
    (12, 12, 5)])
def test_the_first_limit_letters_of_a_window_get_a_card(count_after: int, n: int,
                                                        singles: int) -> None:
    assert Pacing(limit=5).one_by_one(count_after, n) == singles


def test_pacing_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="limit >= 0"):
        Pacing(limit=-1)
    with pytest.raises(ValueError, match="window_s > 0"):
        Pacing(window_s=0)


def test_audiences() -> None:
    assert parse_audience("Warehouse") == Audience(role=Role.WAREHOUSE)
    assert parse_audience("wecom:group:orders") == Audience(platform="wecom",
                                                            conversation="group:orders")
    with pytest.raises(UnknownRoleError):
        parse_audience("boss")
    for bad in ("telegram:123", "wecom:"):
        with pytest.raises(ValueError, match="platform:address"):
            parse_audience(bad)


def test_dead_letter_cards_mask_phones_and_say_when_the_rest_comes() -> None:
    reason = "ValueError: receiver_tel 13812345678 is not a number" + "x" * 300
    record = dead_letter("dl-1", 42, "webhook:youzan", reason, AT,
                         more_later=AT + timedelta(minutes=3))
    assert "13812345678" not in record.card.body and "138****5678" in record.card.body
    assert "10:10 汇总为一张卡片" in record.card.body  # Beijing time
    assert record.kind is CardKind.DEAD_LETTER and record.ref == "42"


def test_a_digest_counts_what_was_held_back_per_source() -> None:
    sources = [SourceCount("webhook:youzan", 480, 999, "KeyError: 'tid' 13900001111"),
               SourceCount("webhook:taobao", 20, 990, "ValueError: bad sign")]
    start = datetime(2026, 11, 11, 2, 0, tzinfo=UTC)
    record = dead_letter_digest("dld-1", start, start + timedelta(minutes=10), 500, 5, sources)
    card = record.card
    assert card.title == "死信汇总：500 条" and dict(card.fields)["共计"] == "500"
    assert "其余 495 条" in card.body and "webhook:youzan × 480，最近 #999" in card.body
    assert "13900001111" not in card.body
    assert dict(card.fields)["时段"] == "2026-11-11 10:00–10:10"
    assert [b.role_required for b in card.buttons] == [Role.OPS.value]


def test_a_new_order_card_is_short_and_shows_no_personal_data() -> None:
    order = make_order(3)
    card = new_order("no-1", order).card
    text = card.body + str(card.fields)
    assert card.title == f"新订单 {order.key}" and not card.buttons
    assert order.receiver.phone not in text and "文三路" not in text and "张三" not in text
    assert dict(card.fields)["收件地区"] == "浙江省杭州市"
