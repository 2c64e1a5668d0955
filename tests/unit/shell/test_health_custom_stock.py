"""``[health]`` custom_skus, spec_labels and conflict rules; the stock CSV; the demo's additions."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.commands.stock_levels import StockFileError, read_levels
from bot.config import Config, ConfigError, load_config
from bot.demo import DemoConfig
from bot.demo.setup import DEMO_RULE, with_demo
from bot.routing_config import RouteConfig, SubstituteConfig
from core.anomalies import AnomalyCode


def load(tmp_path: Path, text: str) -> Config:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, {})


def test_conflict_rule_and_made_to_order_skus(tmp_path: Path) -> None:
    rules = load(tmp_path, '''
[health]
custom_skus = { "SOFA-LTH-L" = "sofa" }
spec_labels = { depth_cm = ["座深"] }
[[health.custom]]
id = "corner_depth"
category = "sofa"
when = "depth_cm < 60"
conflict = true
''').health.rules()
    [rule] = rules.custom
    assert rule.conflict and rules.custom_skus == {"SOFA-LTH-L": "sofa"}
    assert rules.spec_labels["depth_cm"] == ("座深",)  # replaces the built-in words
    assert rules.spec_labels["length_cm"] == ("长度",)  # the others stay


@pytest.mark.parametrize(("toml", "message"), [
    ('[[health.custom]]\nid = "x"\ncategory = "sofa"\nconflict = true\n',
     "config: [health] custom[0].when: a conflict rule needs the condition it forbids"),
    ('[health]\ncustom_skus = { "S" = "" }\n', "config: [health] custom_skus.S: expected"),
    ('[health]\nspec_labels = { depth_cm = "进深" }\n',
     "config: [health] spec_labels.depth_cm: expected a list of words"),
])
def test_bad_values_name_their_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, toml).health.rules()
    assert str(raised.value).startswith(message)


def test_stock_csv() -> None:
    text = "\ufeffSKU,Available,title\nA-1,3,x\nB-2,0,y\nA-1,5,z\n"
    assert read_levels(text) == {"A-1": 5, "B-2": 0}
    for bad, where in (("sku,units\nA,1\n", "line 1"), ("sku,available\n,1\n", "line 2"),
                       ("sku,available\nA,1\nB,-2\n", "line 3"),
                       ("sku,available\nA,1.5\n", "line 2")):
        with pytest.raises(StockFileError, match=where):
            read_levels(bad)


def test_the_demo_adds_its_rules_unless_configured() -> None:
    plain = Config()
    assert with_demo(plain) is plain
    demo = with_demo(Config(demo=DemoConfig(enabled=True, escalate_after_s=5)))
    table = demo.routing.table()
    assert table.rule(AnomalyCode.ADDRESS_MISSING).sla_s == 5
    assert table.rule(AnomalyCode.OUT_OF_STOCK_SUBSTITUTE).sla_s == 1800  # B untouched
    assert DEMO_RULE in demo.health.custom and demo.health.custom_skus["SOFA-LTH-L"] == "sofa"
    mine = Config(demo=DemoConfig(enabled=True), routing=Config().routing.__class__(
        rules=(RouteConfig(match="A", sla_s=300),)),
        substitutes=(SubstituteConfig("SOFA-GRY-2", ("X",)),))
    theirs = with_demo(mine)
    assert theirs.routing.table().rule(AnomalyCode.ADDRESS_MISSING).sla_s == 300
    assert [s.alternatives for s in theirs.substitutes if s.sku == "SOFA-GRY-2"] == [("X",)]
