"""Custom facts read from a channel order, conflict rules, what a re-check clears, rule hits."""

from __future__ import annotations

from datetime import UTC, datetime

from core.anomalies import AnomalyClass, AnomalyCode
from core.health import (
    DEFAULT_SPEC_LABELS,
    Condition,
    CustomRule,
    Dimension,
    HealthRules,
    Mode,
    StockTable,
    check_order,
    custom_from_order,
    read_spec,
)
from core.health.hits import tally_hits
from core.order import OrderLine
from tests.unit.core.health.helpers import healthy_order, with_receiver

CONFLICT = CustomRule("corner_depth", "sofa", Condition.parse("depth_cm < 60"), conflict=True,
                      message="转角沙发进深小于 60cm")
SOFA = OrderLine("SOFA-LTH-L", "转角沙发", 1, 899900, 899900)
RULES = HealthRules(custom=(CONFLICT,), custom_skus={"SOFA-LTH-L": "sofa"},
                    spec_labels=DEFAULT_SPEC_LABELS)


def test_spec_numbers_are_read_after_their_words_with_units() -> None:
    spec = read_spec("定制尺寸：长度 3.2米，进深：550mm，高度=80", DEFAULT_SPEC_LABELS)
    assert spec == {"length_cm": 320.0, "depth_cm": 55.0, "height_cm": 80.0}
    assert read_spec("沙发颜色要浅灰，不要深灰", DEFAULT_SPEC_LABELS) == {}


def test_only_made_to_order_lines_get_a_spec() -> None:
    order = healthy_order(lines=(SOFA, *healthy_order().lines), remark="深度 50 厘米")
    [spec] = custom_from_order(order, {"SOFA-LTH-L": "sofa"}, DEFAULT_SPEC_LABELS)
    assert (spec.sku, spec.category, dict(spec.spec)) == ("SOFA-LTH-L", "sofa",
                                                         {"depth_cm": 50.0})
    assert custom_from_order(healthy_order(), {"SOFA-LTH-L": "sofa"}, DEFAULT_SPEC_LABELS) == ()


def test_a_spec_the_workshop_cannot_make_is_a_c_conflict() -> None:
    report = check_order(healthy_order(lines=(SOFA,), remark="进深 50cm"), RULES)
    [finding] = report.enforced
    assert finding.code is AnomalyCode.CUSTOM_SPEC_CONFLICT
    assert finding.klass is AnomalyClass.C and finding.rule == "custom.corner_depth"
    assert finding.data["spec"] == {"depth_cm": 50.0} and finding.message == "转角沙发进深小于 60cm"


def test_a_conflict_rule_asserts_nothing_it_cannot_decide() -> None:
    for remark in (None, "请周末送货", "进深 65cm"):
        assert check_order(healthy_order(lines=(SOFA,), remark=remark), RULES).healthy


def test_cleared_only_when_the_dimension_ran_and_found_nothing() -> None:
    missing = check_order(with_receiver(address=None, district=None))
    assert not missing.cleared(AnomalyCode.ADDRESS_MISSING)
    fixed = check_order(healthy_order())
    assert fixed.cleared(AnomalyCode.ADDRESS_MISSING)
    assert Dimension.STOCK not in fixed.checked  # no snapshot: stock is not judged ...
    assert not fixed.cleared(AnomalyCode.OUT_OF_STOCK_SUBSTITUTE)  # ... so it never clears
    stocked = check_order(healthy_order(), snapshot=StockTable({"SKU-0001": 10}))
    assert stocked.cleared(AnomalyCode.OUT_OF_STOCK_SUBSTITUTE)
    off = HealthRules(modes={"address.missing": Mode.OFF})
    silenced = check_order(with_receiver(address=None, district=None), off)
    assert silenced.healthy and not silenced.cleared(AnomalyCode.ADDRESS_MISSING)
    shadow = HealthRules(modes={"phone.invalid": Mode.SHADOW})
    watched = check_order(with_receiver(phone="123"), shadow)
    assert watched.healthy and not watched.cleared(AnomalyCode.PHONE_INVALID)


def test_rule_hits_per_rule_code_and_mode() -> None:
    rules = HealthRules(modes={"phone.invalid": Mode.SHADOW})
    orders = [with_receiver(phone="123"), with_receiver(phone="456", address=None),
              healthy_order()]
    at = datetime(2026, 1, 8, 17, 0, tzinfo=UTC)  # 01:00 on the 9th in Beijing
    hits = tally_hits([check_order(o, rules) for o in orders], at=at)
    assert [(h.rule, h.code, h.mode, h.hits) for h in hits] == [
        ("address.missing", "ADDRESS_MISSING", "enforce", 1),
        ("phone.invalid", "PHONE_INVALID", "shadow", 2)]
    assert {h.day.isoformat() for h in hits} == {"2026-01-09"}
    assert tally_hits([check_order(healthy_order())], at=at) == []


