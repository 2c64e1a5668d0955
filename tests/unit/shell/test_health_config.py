"""``[health]`` in config: parsed into the core rules; a bad key is one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from core.health import Condition, Mode


def load(tmp_path: Path, text: str) -> object:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, {})


FULL = '''
[health]
modes = { "phone.invalid" = "shadow", "credit.level" = "off" }
blacklist = ["buyer-1", "13800000000"]
credit_levels = { "buyer-9" = 1 }
min_credit_level = 2
sku_weight_g = { "SOFA-3" = 45000 }

[[health.carriers]]
carriers = ["德邦"]
provinces = ["浙江", "江苏省"]
cities = ["杭州"]
max_weight_kg = 80

[[health.carriers]]
carriers = ["顺丰"]
fastest_hours = 24

[[health.custom]]
id = "sofa_floor_plan"
category = "sofa"
when = "depth_cm < 45"
attachments = ["floor_plan"]
mode = "shadow"
'''


def test_a_full_health_section(tmp_path: Path) -> None:
    rules = load(tmp_path, FULL).health.rules()  # type: ignore[attr-defined]
    assert rules.mode("phone.invalid") is Mode.SHADOW
    assert rules.mode("credit.level") is Mode.OFF
    assert rules.mode("address.missing") is Mode.ENFORCE
    assert rules.mode("custom.sofa_floor_plan") is Mode.SHADOW
    assert rules.credit.record("buyer-9", None).level == 1  # type: ignore[union-attr]
    assert rules.credit.record(None, "13800000000").blacklisted  # type: ignore[union-attr]
    assert rules.credit.min_level == 2
    first, second = rules.carriers
    assert first.provinces == {"浙江省", "江苏省"} and first.cities == {"杭州市"}
    assert first.max_weight_g == 80_000 and second.fastest_hours == 24
    [custom] = rules.custom
    assert custom.when == Condition("depth_cm", "<", 45.0)
    assert rules.sku_weight_g == {"SOFA-3": 45000}


def test_defaults_enforce_everything_and_check_no_carriers(tmp_path: Path) -> None:
    rules = load(tmp_path, "").health.rules()  # type: ignore[attr-defined]
    assert rules.carriers == () and rules.custom == ()
    assert rules.mode("phone.invalid") is Mode.ENFORCE


@pytest.mark.parametrize(("toml", "message"), [
    ('[health]\nmodes = { "phone.invalide" = "shadow" }\n',
     "config: [health] modes.phone.invalide: unknown rule"),
    ('[health]\nmodes = { "phone.invalid" = "loud" }\n',
     "config: [health] modes.phone.invalid: expected one of enforce, shadow, off, got 'loud'"),
    ('[health]\nphone_region = "ZZ"\n', "config: [health] phone_region: expected a region"),
    ('[health]\nsku_weight_g = { "A" = -1 }\n', "config: [health] sku_weight_g.A: expected"),
    ('[health]\ncredit_levels = { "b" = "high" }\n', "config: [health] credit_levels.b:"),
    ('[health]\nmin_credit_levle = 2\n', "config: unknown key [health] min_credit_levle"),
    ('[[health.carriers]]\nprovinces = ["浙江省"]\n',
     "config: [health] carriers[0].carriers: expected at least one carrier name"),
    ('[[health.carriers]]\ncarriers = ["顺丰"]\nprovinces = ["浙江生"]\n',
     "config: [health] carriers[0].provinces: unknown province '浙江生'"),
    ('[[health.carriers]]\ncarriers = ["顺丰"]\nmax_weight_kg = 0\n',
     "config: [health] carriers[0].max_weight_kg: expected a number > 0"),
    ('[[health.carriers]]\ncarriers = ["顺丰"]\nweight = 1\n',
     "config: unknown key [carriers[0]] weight"),
    ('[[health.custom]]\nid = "a"\ncategory = "sofa"\nwhen = "depth_cm <"\n'
     'attachments = ["floor_plan"]\n', "config: [health] custom[0].when: expected"),
    ('[[health.custom]]\nid = "a"\ncategory = "sofa"\n',
     "config: [health] custom[0]: expected attachments or fields"),
    ('[[health.custom]]\nid = "a"\ncategory = "sofa"\nfields = ["w"]\n'
     '[[health.custom]]\nid = "a"\ncategory = "bed"\nfields = ["w"]\n',
     "config: [health] custom[1].id: duplicate rule id 'a'"),
    ('[[health.custom]]\nid = "a"\ncategory = "sofa"\nfields = ["w"]\nmode = "on"\n',
     "config: [health] custom[0].mode: expected one of"),
])
def test_bad_values_name_the_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, toml)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)
