"""Accuracy of ``core.intent.extract`` on the hand-labelled messages in tests/data/intent.

Bars from issue 6: intent accuracy >= 92 %, entity exact match >= 90 %, on the development part
and on the held-out part separately (the held-out part was not looked at while tuning). The
confusion matrix is printed every run (``pytest -s`` shows it) and is part of the failure
message, so a failing run says which intents are confused with which.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from core.intent import INTENTS, IntentResult, extract

DATA = Path(__file__).parents[2] / "data" / "intent"
INTENT_BAR, ENTITY_BAR = 0.92, 0.90


def _rows(name: str) -> list[dict[str, Any]]:
    lines = (DATA / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _entities(result: IntentResult) -> dict[str, Any]:
    found, address = result.entities, result.entities.new_address
    return {
        "order_nos": list(found.order_nos), "tracking_nos": list(found.tracking_nos),
        "phone": found.phones[0] if found.phones else None,
        "new_address": None if address is None else {
            "province": address.province, "city": address.city,
            "district": address.district, "detail": address.detail},
        "products": list(found.products),
    }


def confusion_matrix(pairs: list[tuple[str, str]]) -> str:
    """Rows: labelled intent; columns: extracted intent."""
    counts = Counter(pairs)
    short = [name[:6] for name in INTENTS]
    lines = ["labelled \\ extracted".ljust(22) + " ".join(f"{s:>6}" for s in short)]
    for truth in INTENTS:
        cells = " ".join(f"{counts.get((truth, got), 0) or '.':>6}" for got in INTENTS)
        lines.append(f"{truth:<22}{cells}")
    return "\n".join(lines)


def _measure(name: str) -> tuple[float, float, str]:
    rows = _rows(name)
    pairs: list[tuple[str, str]] = []
    entity_hits = 0
    misses: list[str] = []
    for row in rows:
        result = extract(row["text"])
        pairs.append((row["intent"], result.intent))
        same = _entities(result) == row["entities"]
        entity_hits += same
        if result.intent != row["intent"] or not same:
            misses.append(f"  {row['text']!r}: {result.intent} {_entities(result)}")
    intent_accuracy = sum(t == g for t, g in pairs) / len(rows)
    report = (f"\n[{name}] {len(rows)} messages: intent accuracy {intent_accuracy:.1%}, "
              f"entity exact match {entity_hits / len(rows):.1%}\n{confusion_matrix(pairs)}\n"
              + ("misses:\n" + "\n".join(misses) if misses else "no misses"))
    return intent_accuracy, entity_hits / len(rows), report


@pytest.mark.parametrize("part", ["dev", "heldout"])
def test_intent_and_entity_accuracy_meet_the_bar(part: str) -> None:
    intent_accuracy, entity_accuracy, report = _measure(part)
    print(report)
    assert intent_accuracy >= INTENT_BAR, report
    assert entity_accuracy >= ENTITY_BAR, report


def test_the_set_is_large_and_varied() -> None:
    rows = _rows("dev") + _rows("heldout")
    assert len(rows) >= 300
    assert {row["intent"] for row in rows} == set(INTENTS)
    assert sum(bool(row["retracted"]) for row in rows) >= 20
    assert sum(row["secondary"] is not None for row in rows) >= 15
    assert len({row["text"] for row in rows}) == len(rows)
