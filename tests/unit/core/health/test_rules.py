"""Credit, stock, carrier, invoice and custom-order rules; enforce vs shadow vs off."""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.anomalies import AnomalyClass, AnomalyCode
from core.health import (
    CarrierRoute,
    Condition,
    CreditRecord,
    CreditTable,
    CustomRule,
    CustomSpec,
    HealthRules,
    Mode,
    OrderFacts,
    RuleError,
    StockTable,
    check_order,
)
from core.order import Invoice, InvoiceKind
from core.states import OrderState
from tests.unit.core.health.helpers import healthy_order, rules_of, with_receiver

# --- credit -------------------------------------------------------------------------------


def test_blacklisted_buyer_and_phone() -> None:
    rules = HealthRules(credit=CreditTable(blacklist=frozenset({"buyer-7", "13900000000"})))
    [finding] = check_order(healthy_order(), rules).enforced
    assert finding.code is AnomalyCode.LOW_CREDIT and finding.klass is AnomalyClass.B
    assert rules_of(check_order(with_receiver(phone="13900000000"), rules)) == [
        "credit.blacklist"]
    assert check_order(healthy_order(buyer_id="buyer-8"), rules).healthy


def test_credit_level_below_the_minimum() -> None:
    rules = HealthRules(credit=CreditTable(levels={"buyer-7": 1, "buyer-8": 3}, min_level=2))
    assert rules_of(check_order(healthy_order(), rules)) == ["credit.level"]
    assert check_order(healthy_order(buyer_id="buyer-8"), rules).healthy
    assert check_order(healthy_order(buyer_id="unknown"), rules).healthy


def test_a_crm_lookup_replaces_the_table() -> None:
    report = check_order(healthy_order(), credit=lambda order: CreditRecord(
        blacklisted=order.buyer_id == "buyer-7", note="拒收 3 次"))
    [finding] = report.enforced
    assert "拒收 3 次" in finding.message


# --- stock --------------------------------------------------------------------------------


def test_stock_that_cannot_be_reserved() -> None:
    order = healthy_order()
    sku = order.lines[2].sku  # quantity 3
    report = check_order(order, snapshot=StockTable({sku: 2}))
    [finding] = report.enforced
    assert finding.code is AnomalyCode.OUT_OF_STOCK_SUBSTITUTE
    assert finding.data["short"] == [{"sku": sku, "need": 3, "available": 2}]
    assert check_order(order, snapshot=StockTable({sku: 3})).healthy


def test_untracked_skus_no_snapshot_and_allocated_orders_are_not_judged() -> None:
    order = healthy_order()
    empty = StockTable({order.lines[0].sku: 0})
    assert check_order(order, snapshot=StockTable({"OTHER": 0})).healthy
    assert check_order(order).healthy
    assert check_order(replace(order, status=OrderState.ALLOCATED), snapshot=empty).healthy
    assert not check_order(order, snapshot=empty).healthy


# --- carrier ------------------------------------------------------------------------------

ROUTES = (
    CarrierRoute(("中通", "圆通"), max_weight_g=30_000, fastest_hours=48),
    CarrierRoute(("顺丰",), max_weight_g=50_000, fastest_hours=24),
    CarrierRoute(("德邦",), provinces=frozenset({"浙江省", "江苏省", "上海市"}), fastest_hours=48),
    CarrierRoute(("顺丰",), provinces=frozenset({"新疆维吾尔自治区"}), fastest_hours=72),
)


@pytest.mark.parametrize(("weight", "hours", "ok"), [
    (10_000, 72, True), (40_000, 30, True), (80_000, None, True), (1_000, 12, False),
])
def test_carrier_table_in_zhejiang(weight: int, hours: float | None, ok: bool) -> None:
    facts = OrderFacts(weight_g=weight, promise_hours=hours)
    report = check_order(healthy_order(), HealthRules(carriers=ROUTES), facts=facts)
    assert report.healthy is ok
    if not ok:
        [finding] = report.enforced
        assert finding.code is AnomalyCode.NO_CARRIER and "浙江省杭州市" in finding.message


def test_a_heavy_parcel_outside_the_freight_area_has_no_carrier() -> None:
    order = with_receiver(province="广东省", city="广州市", district="天河区")
    report = check_order(order, HealthRules(carriers=ROUTES),
                         facts=OrderFacts(weight_g=80_000))
    assert rules_of(report) == ["carrier.match"]


def test_weight_from_configured_sku_weights() -> None:
    order = healthy_order()  # quantities 1, 2, 3
    weights = {line.sku: 10_000 for line in order.lines}  # 60 kg in all
    rules = HealthRules(carriers=ROUTES[:2], sku_weight_g=weights)
    assert rules_of(check_order(order, rules)) == ["carrier.match"]
    lighter = HealthRules(carriers=ROUTES[:2], sku_weight_g=dict.fromkeys(weights, 1_000))
    assert check_order(order, lighter).healthy


# --- invoice ------------------------------------------------------------------------------


@pytest.mark.parametrize(("invoice", "rules"), [
    (None, []),
    (Invoice(InvoiceKind.PERSONAL), []),
    (Invoice(InvoiceKind.COMPANY, "北京小米科技有限责任公司", "91110108551385082Q"), []),
    (Invoice(InvoiceKind.COMPANY, "北京小米科技有限责任公司", "9111 0108 5513 8508 2q"), []),
    (Invoice(InvoiceKind.COMPANY, "北京小米科技有限责任公司", "91110108551385082R"),
     ["invoice.tax_id"]),
    (Invoice(InvoiceKind.COMPANY, "北京小米科技有限责任公司", "9111010855138508"),
     ["invoice.tax_id"]),
    (Invoice(InvoiceKind.COMPANY, "北京小米科技有限责任公司", None), ["invoice.tax_id"]),
    (Invoice(InvoiceKind.COMPANY, " ", "91110108551385082Q"), ["invoice.title"]),
])
def test_invoices(invoice: Invoice | None, rules: list[str]) -> None:
    assert rules_of(check_order(healthy_order(invoice=invoice))) == rules


def test_a_wrong_check_character_is_named() -> None:
    order = healthy_order(invoice=Invoice(InvoiceKind.COMPANY, "华为", "914403001922038217"))
    [finding] = check_order(order).enforced
    assert finding.code is AnomalyCode.TAX_ID_INVALID and "校验位不对" in finding.message


# --- custom orders ------------------------------------------------------------------------

SOFA = CustomRule("sofa_floor_plan", "sofa", Condition.parse("depth_cm < 45"),
                  attachments=("floor_plan",))


@pytest.mark.parametrize(("spec", "ok"), [
    (CustomSpec("SOFA-1", "sofa", {"depth_cm": 40}, ("floor_plan",)), True),
    (CustomSpec("SOFA-1", "sofa", {"depth_cm": 40}, ()), False),
    (CustomSpec("SOFA-1", "sofa", {"depth_cm": 60}, ()), True),
    (CustomSpec("SOFA-1", "sofa", {}, ()), False),  # depth unknown: cannot tell
    (CustomSpec("BED-1", "bed", {"depth_cm": 40}, ()), True),
])
def test_sofa_depth_needs_a_floor_plan(spec: CustomSpec, ok: bool) -> None:
    report = check_order(healthy_order(), HealthRules(custom=(SOFA,)),
                         facts=OrderFacts(custom=(spec,)))
    assert report.healthy is ok
    if not ok:
        [finding] = report.enforced
        assert finding.code is AnomalyCode.CUSTOM_SPEC_INCOMPLETE
        assert finding.rule == "custom.sofa_floor_plan"


def test_required_fields_and_the_default_sentence() -> None:
    rule = CustomRule("curtain_size", "curtain", fields=("width_cm", "height_cm"))
    spec = CustomSpec("CURTAIN-9", "curtain", {"width_cm": 280})
    [finding] = check_order(healthy_order(), HealthRules(custom=(rule,)),
                            facts=OrderFacts(custom=(spec,))).enforced
    assert finding.data["missing"] == ["height_cm"] and "CURTAIN-9" in finding.message


@pytest.mark.parametrize("text", ["depth_cm", "depth_cm ~ 4", "< 45", "depth_cm < abc"])
def test_bad_conditions_do_not_parse(text: str) -> None:
    with pytest.raises(RuleError):
        Condition.parse(text)


def test_condition_values() -> None:
    assert Condition.parse("fabric == 'leather'").holds({"fabric": "leather"})
    assert Condition.parse("waterproof == true").holds({"waterproof": True})
    assert Condition.parse("depth_cm >= 45").holds({"depth_cm": "deep"}) is None


# --- modes --------------------------------------------------------------------------------


def test_shadow_findings_are_reported_but_never_block() -> None:
    order = with_receiver(phone="12345")
    shadow = check_order(order, HealthRules(modes={"phone.invalid": Mode.SHADOW}))
    assert shadow.healthy and shadow.enforced == ()
    [finding] = shadow.shadow
    assert finding.mode is Mode.SHADOW and finding.code is AnomalyCode.PHONE_INVALID
    enforced = check_order(order)
    assert not enforced.healthy and enforced.shadow == ()
    off = check_order(order, HealthRules(modes={"phone.invalid": Mode.OFF}))
    assert off.healthy and off.findings == ()


def test_a_custom_rule_carries_its_own_mode() -> None:
    rule = replace(SOFA, mode=Mode.SHADOW)
    facts = OrderFacts(custom=(CustomSpec("SOFA-1", "sofa", {"depth_cm": 40}),))
    report = check_order(healthy_order(), HealthRules(custom=(rule,)), facts=facts)
    assert report.healthy and rules_of(report) == ["custom.sofa_floor_plan"]


def test_finding_json_shape() -> None:
    [finding] = check_order(with_receiver(phone="12345")).enforced
    assert finding.to_json() == {
        "code": "PHONE_INVALID", "class": "A", "dimension": "phone",
        "message": finding.message, "rule": "phone.invalid", "mode": "enforce"}
