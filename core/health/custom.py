"""Custom-order completeness: per-category rules from config (CUSTOM_SPEC_INCOMPLETE), and
specs the process cannot make (CUSTOM_SPEC_CONFLICT).

Example: category ``sofa``, ``when = "depth_cm < 45"``, ``attachments = ["floor_plan"]`` —
a shallow sofa only fits after someone has looked at the floor plan. A rule whose condition
cannot be decided (the spec lacks the field) asks for that field instead of guessing. A
conflict rule (``conflict = true``) holds only when its condition is decidably true.
"""

from __future__ import annotations

from collections.abc import Iterable

from core.anomalies import AnomalyCode
from core.health.facts import CustomSpec
from core.health.model import Issue
from core.health.rules import CUSTOM_PREFIX, CustomRule

_LABELS = {"floor_plan": "户型图", "drawing": "设计图", "photo": "现场照片"}


def check_custom(specs: Iterable[CustomSpec], rules: Iterable[CustomRule]) -> list[Issue]:
    issues: list[Issue] = []
    for spec in specs:
        for rule in rules:
            if rule.conflict:
                if _conflicts(rule, spec):
                    issues.append(_conflict(rule, spec))
                continue
            absent = _absent(rule, spec)
            if absent:
                issues.append(_issue(rule, spec, absent))
    return issues


def _conflicts(rule: CustomRule, spec: CustomSpec) -> bool:
    return (spec.category == rule.category and rule.when is not None
            and rule.when.holds(spec.spec) is True)


def _conflict(rule: CustomRule, spec: CustomSpec) -> Issue:
    message = rule.message or f"定制单 {spec.sku} 的规格（{rule.when}）与工艺冲突，请生产确认。"
    return Issue(CUSTOM_PREFIX + rule.id, AnomalyCode.CUSTOM_SPEC_CONFLICT, message,
                 {"sku": spec.sku, "category": spec.category, "spec": dict(spec.spec),
                  "condition": str(rule.when)})


def _absent(rule: CustomRule, spec: CustomSpec) -> list[str]:
    """What ``spec`` lacks under ``rule`` (empty: complete, or the rule does not apply)."""
    if spec.category != rule.category:
        return []
    if rule.when is not None:
        holds = rule.when.holds(spec.spec)
        if holds is None:
            return [rule.when.field]
        if not holds:
            return []
    absent = [kind for kind in rule.attachments if kind not in spec.attachments]
    return absent + [name for name in rule.fields if spec.spec.get(name) in (None, "")]


def _issue(rule: CustomRule, spec: CustomSpec, absent: list[str]) -> Issue:
    labels = "、".join(_LABELS.get(kind, kind) for kind in absent)
    why = f"（{rule.when}）" if rule.when is not None and rule.when.field not in absent else ""
    message = rule.message or f"定制单 {spec.sku}{why}缺少{labels}，请补充后再排产。"
    return Issue(CUSTOM_PREFIX + rule.id, AnomalyCode.CUSTOM_SPEC_INCOMPLETE, message,
                 {"sku": spec.sku, "category": spec.category, "missing": absent})
