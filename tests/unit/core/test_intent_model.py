"""The learned intent check (``core/intent/learned.py``) and its shipped weights.

The shipped ``intent_model.json`` must be what ``python -m bench.intent_train`` makes from the
committed labelled sets (the training is pure Python with a fixed seed, so byte for byte), and
it records the SHA-256 of those sets: a change to dev/heldout/blind without retraining fails
here, not silently in production.
"""

from __future__ import annotations

import math

import pytest

from bench import intent_train
from core.intent import extract, learned
from core.intent.extract import read_by_rules
from core.intent.learned import (
    LearnedModel,
    features,
    overrule,
    parse_model,
    probabilities,
    shipped_model,
)
from core.intent.model import INTENTS, Entities, IntentResult


def _model(weights: dict[str, dict[str, float]], min_probability: float = 0.6,
           rules_below: float = 0.8) -> LearnedModel:
    """A hand-made model: feature -> {intent: weight}."""
    rows = {name: tuple(by_intent.get(i, 0.0) for i in INTENTS)
            for name, by_intent in weights.items()}
    return LearnedModel(INTENTS, (0.0,) * len(INTENTS), rows, min_probability, rules_below, "")


def _rules(intent: str, confidence: float, secondary: str | None = None,
           retracted: tuple[str, ...] = ()) -> IntentResult:
    return IntentResult(intent, secondary, confidence, Entities(), retracted,  # type: ignore[arg-type]
                        {intent: 1.0})


def test_the_shipped_model_was_trained_on_the_committed_sets() -> None:
    assert shipped_model().data_sha256 == intent_train.data_sha256()


def test_the_shipped_model_is_what_the_training_script_makes() -> None:
    shipped = intent_train.OUT.read_text(encoding="utf-8")
    assert intent_train.train() == shipped, "retrain: python -m bench.intent_train"


def test_the_training_sets_never_include_the_third_blind_set() -> None:
    """blind2 is development data since it was spent (README, "Blind set 2"); blind3 is not."""
    assert intent_train.TRAINING_SETS == ("dev", "heldout", "blind", "blind2")


def test_the_shipped_model_parses_and_names_every_intent() -> None:
    model = shipped_model()
    assert model.intents == INTENTS
    assert len(model.bias) == len(INTENTS)
    assert model.weights and all(len(row) == len(INTENTS) for row in model.weights.values())


def test_a_malformed_model_file_fails_loudly() -> None:
    with pytest.raises(AssertionError):
        parse_model({"intents": ["urgent"], "bias": [], "weights": {}, "decision": {},
                     "data_sha256": ""})


def test_probabilities_are_a_distribution_and_unknown_features_count_nothing() -> None:
    model = _model({"c急": {"urgent": 2.0}})
    probs = probabilities(model, ["c急", "never seen"])
    assert math.isclose(sum(probs), 1.0)
    assert max(range(len(probs)), key=probs.__getitem__) == INTENTS.index("urgent")
    assert probabilities(model, ["never seen"]) == pytest.approx([1 / len(INTENTS)] * 9)


def test_features_hold_text_and_the_rules_reading() -> None:
    rules = _rules("urgent", 0.86, secondary="query_status", retracted=("urgent",))
    found = features("急单 发了吗", ["急单", " ", "发", "了", "吗"], rules)
    assert {"c急", "c急单", "c^急", "c吗$", "w急单", "w发", "rurgent", "squery_status",
            "xurgent", "kurgent1"} <= set(found)
    assert "w " not in found
    assert len(found) == len(set(found))


def test_the_model_replaces_the_primary_when_sure_and_the_rules_are_not() -> None:
    model = _model({"c退": {"refund_return": 5.0}})
    rules = _rules("complaint", 0.7)
    result = overrule(rules, "退", ["退"], model)
    assert (result.intent, result.secondary) == ("refund_return", "complaint")
    assert result.confidence > 0.9


def test_the_rules_secondary_and_precedence_stay_and_withdrawals_follow_the_intents() -> None:
    model = _model({"c退": {"refund_return": 5.0}})
    rules = _rules("urgent", 0.7, secondary="add_item", retracted=("urgent",))
    result = overrule(rules, "退", ["退"], model)
    assert (result.intent, result.secondary, result.retracted) == (
        "refund_return", "add_item", ())
    both = _rules("urgent", 0.7, secondary="refund_return")
    assert overrule(both, "退", ["退"], model) is both  # the rules' precedence among the two


@pytest.mark.parametrize(("confidence", "weight"), [(0.9, 5.0), (0.7, 0.1)])
def test_sure_rules_or_an_unsure_model_keep_the_rules(confidence: float, weight: float) -> None:
    model = _model({"c退": {"refund_return": weight}}, min_probability=0.6, rules_below=0.8)
    rules = _rules("complaint", confidence)
    assert overrule(rules, "退", ["退"], model) is rules


def test_extract_asks_the_shipped_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """extract() consults the model (here one that reads 在吗 as an invoice request), and the
    rules keep the entities."""
    always = _model({"c在吗": {"invoice": 9.0}}, min_probability=0.5, rules_below=1.0)
    monkeypatch.setattr(learned, "shipped_model", lambda: always)
    result = extract("在吗 1234567")
    assert result.intent == "invoice"
    assert result.entities.order_nos == ("1234567",)
    assert read_by_rules("在吗 1234567")[0].intent != "invoice"
