"""The window arithmetic and the page -> order bodies step, as pure functions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.polling import order_bodies, poll_window
from integrations.channels.payload import load_json

NOW = datetime(2026, 3, 1, 10, 0, 0, 750_000, tzinfo=UTC)


def test_first_window_looks_back_a_day_from_a_whole_second() -> None:
    assert poll_window(None, NOW, 120) == (datetime(2026, 2, 28, 10, 0, tzinfo=UTC), NOW)


def test_next_window_overlaps_the_last_end_floored_to_the_second() -> None:
    last_end = datetime(2026, 3, 1, 9, 55, 0, 500_000, tzinfo=UTC)
    start, end = poll_window(last_end, NOW, 120)
    assert (start, end) == (datetime(2026, 3, 1, 9, 53, tzinfo=UTC), NOW)


def test_zero_or_negative_overlap_still_never_starts_after_the_last_end() -> None:
    last_end = NOW - timedelta(minutes=5)
    assert poll_window(last_end, NOW, 0)[0] <= last_end
    assert poll_window(last_end, NOW, -60)[0] <= last_end


def test_a_last_end_ahead_of_our_clock_never_gives_an_empty_window() -> None:
    start, end = poll_window(NOW + timedelta(hours=1), NOW, 120)
    assert start <= end == NOW


def test_order_bodies_keep_ids_exact_and_text_readable() -> None:
    page = [{"tid": 2**63 - 1, "price": 12.3, "name": "王小明"}, {"tid": 2}]
    first, second = order_bodies(page)
    assert b"9223372036854775807" in first and "王小明".encode() in first
    decoded = load_json(first)  # what the worker's parser does with it
    assert decoded["tid"] == 2**63 - 1 and decoded["price"] == Decimal("12.3")
    assert json.loads(second) == {"tid": 2}


def test_a_bytes_page_is_queued_as_it_is_and_a_dict_is_one_order() -> None:
    assert order_bodies(b'{"tid": 1}') == [b'{"tid": 1}']
    assert order_bodies({"tid": 1}) == [b'{"tid":1}']
