"""The routing table (class and code -> owner, SLA, chain, blocking), SLA deadlines, the
anomaly cards per class, substitutes and typed fixes."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from core.anomalies import CODE_CLASS, AnomalyClass, AnomalyCode, open_anomaly
from core.anomaly_cards import anomaly_card, closed, escalated
from core.fixes import FixValueError, apply_fix
from core.people import Role
from core.routing import RoutingError, build_table, default_table
from core.substitution import in_stock_substitutes, substitute
from tests.factories import T0, make_order

C = AnomalyCode


def test_every_code_has_a_rule_following_design() -> None:
    table = default_table()
    assert set(table.rules) == set(CODE_CLASS)
    a = table.rule(C.ADDRESS_MISSING)
    assert (a.owner, a.sla_s, a.chain, a.blocking) == (Role.AGENT, 120.0, (Role.SUPERVISOR,),
                                                       True)
    assert table.rule(C.CUSTOM_SPEC_CONFLICT).owner is Role.PRODUCTION
    assert table.rule(C.ORDER_STALLED).owner is Role.WAREHOUSE
    assert table.rule(C.PRICE_MISMATCH).blocking is False
    assert all(table.rule(code).blocking for code, klass in CODE_CLASS.items()
               if klass is AnomalyClass.C)
    assert table.stalled_after_s == 48 * 3600


def test_class_rules_apply_first_then_code_rules() -> None:
    table = build_table({"A": {"sla_s": 300, "chain": ["supervisor", "ops"]},
                         "PHONE_INVALID": {"owner": "finance", "sla_s": 60}})
    assert table.rule(C.ADDRESS_MISSING).sla_s == 300
    assert table.rule(C.ADDRESS_MISSING).chain == (Role.SUPERVISOR, Role.OPS)
    phone = table.rule(C.PHONE_INVALID)
    assert (phone.owner, phone.sla_s, phone.chain) == (Role.FINANCE, 60, (Role.SUPERVISOR,
                                                                          Role.OPS))
    assert table.rule(C.NO_CARRIER).sla_s == 1800  # B untouched


@pytest.mark.parametrize(("overrides", "message"), [
    ({"D": {}}, "unknown anomaly class or code 'D'"),
    ({"A": {"owner": "boss"}}, "A: unknown role 'boss'"),
    ({"A": {"sla": 5}}, "A: unknown field 'sla'"),
    ({"B": {"sla_s": -1}}, "B: sla_s must be seconds >= 0"),
    ({"C": {"chain": "supervisor"}}, "C: chain must be a list of roles"),
    ({"ORDER_STALLED": {"blocking": "yes"}}, "ORDER_STALLED: blocking must be true or false"),
])
def test_bad_overrides_name_the_problem(overrides: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(RoutingError, match=message):
        build_table(overrides)


def test_deadlines_walk_the_chain_and_stop_at_its_end() -> None:
    rule = build_table({"A": {"chain": ["supervisor", "ops"]}}).rule(C.ADDRESS_MISSING)
    assert rule.deadline(T0, 0) == T0 + timedelta(minutes=2)
    assert (rule.role_at(0), rule.next_role(0)) == (Role.AGENT, Role.SUPERVISOR)
    assert (rule.role_at(1), rule.next_role(1)) == (Role.SUPERVISOR, Role.OPS)
    assert rule.deadline(T0, 2) is None  # nobody after ops
    assert build_table({"A": {"sla_s": 0}}).rule(C.ADDRESS_MISSING).deadline(T0, 0) is None


def test_cards_per_class() -> None:
    table = default_table()
    a = replace(open_anomaly("taobao:1", C.ADDRESS_MISSING, at=T0, reason="缺少详细地址"), id=7)
    card = anomaly_card("an-1", a, table.rule(a.code), role=Role.AGENT,
                        due_at=T0 + timedelta(minutes=2)).card
    assert card.title == "[A] 收货地址缺失"
    assert [b.label for b in card.buttons] == ["已补录"]
    assert dict(card.fields)["时限"] == "2026-11-11 10:02 前未处理将升级"
    b = replace(open_anomaly("taobao:1", C.OUT_OF_STOCK_SUBSTITUTE, at=T0, reason="缺货",
                             data={"sku": "X", "substitutes": ["Y", "Z"]}), id=8)
    assert [btn.label for btn in anomaly_card("an-2", b, table.rule(b.code), role=Role.AGENT,
                                              due_at=None).card.buttons] == ["替换为 Y", "替换为 Z"]
    c = replace(open_anomaly("taobao:1", C.CUSTOM_SPEC_CONFLICT, at=T0, reason="图纸冲突",
                             data={"evidence": ["https://files.example/drawing-12.pdf"]}), id=9)
    frozen = anomaly_card("an-3", c, table.rule(c.code), role=Role.PRODUCTION, due_at=None)
    assert frozen.card.buttons == ()
    assert "https://files.example/drawing-12.pdf" in frozen.card.body
    assert dict(frozen.card.fields)["处理前"] == "订单已冻结，不会继续流转"
    up = escalated(frozen, Role.SUPERVISOR, T0)
    assert (up.card.status, up.version) == ("已升级给主管 10:00", 2)
    done = closed(up, "已由 张三 补录 10:01", T0, "zhangsan")
    assert (done.card.buttons, done.handled_by, done.version) == ((), "zhangsan", 3)


def test_substitutes_in_stock_in_preference_order() -> None:
    table = {"SOFA-GREY": ["SOFA-BLUE", "SOFA-BEIGE", "SOFA-RED", "SOFA-PINK"]}
    stock = {"SOFA-BLUE": 0, "SOFA-BEIGE": 5, "SOFA-RED": 2, "SOFA-PINK": 9}
    assert in_stock_substitutes("SOFA-GREY", table, stock, 2) == ["SOFA-BEIGE", "SOFA-RED",
                                                                  "SOFA-PINK"]
    assert in_stock_substitutes("SOFA-GREY", table, stock, 6) == ["SOFA-PINK"]
    assert in_stock_substitutes("OTHER", table, stock, 1) == []
    order = make_order(1)
    sku = order.lines[0].sku
    changed = substitute(order, sku, "SOFA-BEIGE")
    assert changed.lines[0].sku == "SOFA-BEIGE" and changed.lines[1:] == order.lines[1:]
    assert changed.lines[0].paid_fen == order.lines[0].paid_fen


def test_typed_fixes_are_checked_before_they_touch_the_order() -> None:
    order = make_order(1)
    fixed = apply_fix(order, "address", "  浙江省杭州市西湖区 文三路 90 号  ")
    assert fixed.receiver.address == "浙江省杭州市西湖区 文三路 90 号"
    assert apply_fix(order, "phone", "139 1234 5678").receiver.phone == "13912345678"
    assert apply_fix(order, "tax_id", "9144 0300 1922 0382 16").invoice.tax_id == \
        "914403001922038216"  # type: ignore[union-attr]
    for field, value in (("address", "杭州"), ("phone", "12345"),
                         ("tax_id", "914403001922038217")):
        with pytest.raises(FixValueError):
            apply_fix(order, field, value)
