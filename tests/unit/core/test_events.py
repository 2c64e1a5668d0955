"""Hash-chained events: any change, drop or reorder is detected and named."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from core.events import GENESIS, ChainHead, OrderEvent, append_event, chain_hash, verify_chain
from tests.factories import T0


def chain(n: int = 4) -> list[OrderEvent]:
    events: list[OrderEvent] = []
    head = ChainHead()
    for i in range(n):
        event = append_event(head, "taobao:1", at=T0 + timedelta(minutes=i), actor="bot",
                             kind="note", data={"i": i, "text": "备注"})
        events.append(event)
        head = event.head
    return events


def test_chain_links_from_genesis() -> None:
    events = chain()
    assert events[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert verify_chain(events).describe() == "chain intact (4 events)"


def test_hash_is_sha256_of_prev_and_canonical_body() -> None:
    event = chain(1)[0]
    assert event.hash == chain_hash(GENESIS, event.body())
    assert event.body()["at"] == "2026-11-11T02:00:00+00:00"


def test_altered_data_is_named() -> None:
    events = chain()
    events[2] = replace(events[2], data={"i": 99, "text": "备注"})
    check = verify_chain(events)
    assert (check.ok, check.broken_seq) == (False, 3)
    assert "altered" in check.describe()


def test_altered_time_or_actor_is_named() -> None:
    for field, value in (("at", T0), ("actor", "mallory"), ("kind", "x")):
        events = chain()
        events[1] = replace(events[1], **{field: value})
        assert verify_chain(events).broken_seq == 2


def test_dropped_and_reordered_events_are_named() -> None:
    events = chain()
    assert verify_chain(events[:1] + events[2:]).broken_seq == 3
    assert verify_chain([events[0], events[2], events[1], events[3]]).broken_seq == 3


def test_rehashed_forgery_breaks_the_next_link() -> None:
    events = chain()
    forged = replace(events[1], actor="mallory")
    events[1] = replace(forged, hash=chain_hash(forged.prev_hash, forged.body()))
    assert verify_chain(events).broken_seq == 3
