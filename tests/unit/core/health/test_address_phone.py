"""Address and phone dimensions on real division data and libphonenumber."""

from __future__ import annotations

import pytest

from core.anomalies import AnomalyClass, AnomalyCode
from core.health import Dimension, check_order
from tests.unit.core.health.helpers import healthy_order, rules_of, with_receiver


def test_a_healthy_order_has_no_findings() -> None:
    report = check_order(healthy_order())
    assert report.healthy and report.findings == ()


@pytest.mark.parametrize("address", ["鼓楼区中山路1号", "朝阳区建国路88号", "西湖区文三路90号"])
def test_a_district_in_several_cities_without_a_city_is_ambiguous(address: str) -> None:
    order = with_receiver(province=None, city=None, district=None, address=address)
    report = check_order(order)
    assert not report.healthy
    [finding] = report.enforced
    assert finding.code is AnomalyCode.ADDRESS_AMBIGUOUS
    assert finding.klass is AnomalyClass.A and finding.dimension is Dimension.ADDRESS
    assert len(finding.data["candidates"]) >= 2
    assert "请向买家确认城市" in finding.message


@pytest.mark.parametrize(("city", "address"), [("福州市", "鼓楼区中山路1号"),
                                               ("长春市", "朝阳区建国路88号"),
                                               ("南昌市", "西湖区文三路90号")])
def test_the_same_address_with_its_city_is_healthy(city: str, address: str) -> None:
    order = with_receiver(province=None, city=city, district=None, address=address)
    assert check_order(order).healthy


def test_free_text_only_address_resolves() -> None:
    order = with_receiver(province=None, city=None, district=None,
                          address="广东省深圳市南山区科技园科苑路15号")
    assert check_order(order).healthy


@pytest.mark.parametrize(("fields", "missing"), [
    ({"address": None}, "详细地址"),
    ({"address": "", "province": None, "city": None, "district": None}, "省份"),
    ({"district": None, "address": "文三路90号"}, "区县"),
    ({"city": None, "district": None, "address": "文三路90号"}, "城市"),
])
def test_missing_parts_are_named(fields: dict[str, str | None], missing: str) -> None:
    [finding] = check_order(with_receiver(**fields)).enforced
    assert finding.code is AnomalyCode.ADDRESS_MISSING
    assert missing in finding.message and missing in finding.data["missing"]


def test_an_encrypted_address_is_not_missing() -> None:
    order = with_receiver(name="张**", phone="~AgAAAAEFv1mAbcdefgh~",
                          address="~AgAAAAEFv1mM3lT4kKvNAYc0vT4wbmWEgrjL1aTIwP~")
    assert check_order(order).healthy


@pytest.mark.parametrize("phone", ["13812345678", "+86 138 1234 5678", "19912345678",
                                   "16612345678", "17012345678-1234", "13800138000转5678"])
def test_valid_mobiles(phone: str) -> None:
    assert check_order(with_receiver(phone=phone)).healthy


@pytest.mark.parametrize("phone", ["1381234567", "12345678901", "138123456789", "010-62345678",
                                   "abc", "+1 650 253 0000"])
def test_invalid_mobiles(phone: str) -> None:
    [finding] = check_order(with_receiver(phone=phone)).enforced
    assert finding.code is AnomalyCode.PHONE_INVALID and finding.dimension is Dimension.PHONE
    assert phone not in finding.message or len(phone) < 5  # masked in the sentence


def test_a_missing_phone_is_invalid() -> None:
    assert rules_of(check_order(with_receiver(phone=None))) == ["phone.invalid"]


@pytest.mark.parametrize("phone", ["138****5678", "$138*5678$", "~AgAAAAEFv1mAbcdefgh~"])
def test_masked_or_encrypted_phones_are_not_judged(phone: str) -> None:
    assert check_order(with_receiver(phone=phone)).healthy


def test_a_masked_name_exempts_the_whole_receiver_from_the_phone_rule() -> None:
    assert check_order(with_receiver(name="张**", phone="1381234")).healthy


def test_the_fast_mobile_path_agrees_with_a_full_parse() -> None:
    import random

    from core.health.phone import _is_valid, is_valid_phone

    rng = random.Random(3)
    for _ in range(20_000):
        number = "1" + f"{rng.randrange(10**10):010d}"
        assert is_valid_phone(number) == _is_valid(number, "CN", False), number
