"""A learned check on the rules: a small multinomial logistic regression over the message's
character n-grams and jieba tokens *and* the rules' own reading of it (primary, secondary,
withdrawn intents, score levels, entities, confidence), so that it learns when to trust them.

Why: the hand rules score 100 % on the sets they were tuned on but ~90 % on text they never
saw; a model over the same message can overrule them where they are unsure. It is trained
offline (``python -m bench.intent_train``, pure Python, fixed seed) and shipped as
``data/intent_model.json`` (weights per feature, the decision rule, and the SHA-256 of the
labelled sets it was trained on); inference here is a sum of a few hundred floats.

The rules keep everything but the choice of the primary intent: entities, withdrawals, the
secondary intent, and the precedence between two intents they both found. ``overrule``
replaces the primary with the model's choice when the model is sure enough
(``min_probability``) and the rules are not (``rules_below``, their confidence); the shipped
decision (0.0, 1.0) lets the model always choose, which did best on text the rules had not
been tuned on (tests/data/intent/README.md, "Learned model"). A replaced primary carries the
model's probability as its confidence, so a disagreement the model is unsure of (< 0.6) makes
``ask_back`` ask the sender rather than act on either reading.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources

from core.intent.model import INTENTS, Intent, IntentResult

MODEL_FILE = "intent_model.json"
# Feature families, by the first character of a feature: text (c: character n-gram, w: jieba
# token, e: entity kind) and the rules' reading (r: primary, s: secondary, x: withdrawn,
# k: score level of an intent). A text-only model uses the first three.
TEXT_FAMILIES = frozenset("cwe")
RULE_FAMILIES = frozenset("rsxk")


@dataclass(frozen=True, slots=True)
class LearnedModel:
    intents: tuple[Intent, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    min_probability: float  # the model must be this sure of another intent to overrule
    rules_below: float  # ... and the rules less sure than this (their confidence)
    data_sha256: str  # of the labelled sets it was trained on (checked by a unit test)


def features(rest: str, tokens: list[str], rules: IntentResult) -> list[str]:
    """The binary features of one message: ``rest`` is the normalised text with entities
    blanked (digits never become n-grams), ``tokens`` its jieba segmentation, ``rules`` the
    rules' reading of it."""
    text = "^" + " ".join(rest.split()) + "$"
    found: set[str] = set()
    for size in (1, 2, 3):
        for start in range(len(text) - size + 1):
            found.add("c" + text[start:start + size])
    found.update("w" + token for token in tokens if not token.isspace())
    entities = rules.entities
    for flag, present in (("o", entities.order_nos), ("t", entities.tracking_nos),
                          ("p", entities.phones), ("a", entities.new_address),
                          ("d", entities.products)):
        if present:
            found.add("e" + flag)
    found.add("r" + rules.intent)
    if rules.secondary is not None:
        found.add("s" + rules.secondary)
    found.update("x" + intent for intent in rules.retracted)
    for intent, score in rules.scores.items():
        found.add(f"k{intent}{min(int(score), 4)}")
    return list(found)  # in no set order: the trainer sorts them, a sum does not care


def probabilities(model: LearnedModel, active: list[str]) -> list[float]:
    """Softmax over intents of the summed weights of the active features."""
    get = model.weights.get
    rows = [row for row in map(get, active) if row is not None]
    totals = [sum(column) for column in zip(model.bias, *rows, strict=True)]
    top = max(totals)
    exps = [math.exp(value - top) for value in totals]
    whole = sum(exps)
    return [value / whole for value in exps]


def overrule(rules: IntentResult, rest: str, tokens: list[str],
             model: LearnedModel | None = None) -> IntentResult:
    """The rules' reading checked by the model (see ``combine``)."""
    model = model or shipped_model()
    if rules.confidence >= model.rules_below:
        return rules
    probs = probabilities(model, features(rest, tokens, rules))
    return combine(rules, probs, model.min_probability, model.rules_below)


def combine(rules: IntentResult, probs: list[float], min_probability: float,
            rules_below: float) -> IntentResult:
    """The rules' reading, with the primary intent replaced by the model's choice when the
    model is sure enough of it (``min_probability``) and the rules are not (``rules_below``).
    When the model picks the rules' own secondary intent, the message names both and the
    rules' precedence (actions > urgent > query_status > complaint, README) stays. A replaced
    primary becomes the secondary when the rules had none; withdrawals stay as the rules read
    them, for the intents still named."""
    best = max(range(len(probs)), key=probs.__getitem__)
    choice = INTENTS[best]
    if (rules.confidence >= rules_below or probs[best] < min_probability
            or choice in (rules.intent, rules.secondary)):
        return rules
    secondary = rules.secondary
    if secondary is None and rules.intent != "other":
        secondary = rules.intent
    retracted = tuple(i for i in rules.retracted if i in (choice, secondary))
    return replace(rules, intent=choice, secondary=secondary, retracted=retracted,
                   confidence=min(probs[best], 0.99))


def parse_model(raw: dict[str, object]) -> LearnedModel:
    """A model from its JSON form; a malformed file is a packaging bug and fails loudly."""
    names = raw["intents"]
    assert isinstance(names, list) and tuple(names) == INTENTS, names
    bias, weights, decision = raw["bias"], raw["weights"], raw["decision"]
    assert isinstance(bias, list) and isinstance(weights, dict) and isinstance(decision, dict)
    return LearnedModel(
        intents=INTENTS, bias=tuple(float(b) for b in bias),
        weights={name: tuple(float(w) for w in row) for name, row in weights.items()},
        min_probability=float(decision["min_probability"]),
        rules_below=float(decision["rules_below"]), data_sha256=str(raw["data_sha256"]))


@cache
def shipped_model() -> LearnedModel:
    """``data/intent_model.json``, read once."""
    data = resources.files("core.intent").joinpath("data").joinpath(MODEL_FILE)
    return parse_model(json.loads(data.read_text(encoding="utf-8")))
