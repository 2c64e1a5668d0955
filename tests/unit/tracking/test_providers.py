"""Signing, state tables and documented shapes of 快递100 and 快递鸟."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.carriers import UnknownCarrierError, by_provider_code, carrier
from core.errors import UnknownStatusError
from core.tracking import TrackingState
from integrations.logistics import kdniao, kuaidi100
from integrations.logistics.base import ProviderRefusedError, PushRejectedError
from integrations.logistics.settings import KdniaoSettings, Kuaidi100Settings
from tests.fakes.logistics import FakeKdniao, FakeKuaidi100

T = TrackingState
MD5_ABC = "900150983cd24fb0d6963f7d28e17f72"  # RFC 1321 test suite: MD5("abc")


def test_kuaidi100_signs_param_key_customer_in_upper_case() -> None:
    assert kuaidi100.query_sign("a", "b", "c") == MD5_ABC.upper()
    assert kuaidi100.push_sign("ab", "c") == MD5_ABC.upper()


def test_kdniao_signs_base64_of_the_lower_case_md5_hex() -> None:
    assert kdniao.data_sign("ab", "c") == "OTAwMTUwOTgzY2QyNGZiMGQ2OTYzZjdkMjhlMTdmNzI="


@pytest.mark.parametrize(("code", "state"), [
    ("0", T.IN_TRANSIT), ("1", T.PICKED_UP), ("2", T.EXCEPTION), ("3", T.DELIVERED),
    ("4", T.RETURNED), ("5", T.OUT_FOR_DELIVERY), ("6", T.RETURNING), ("7", T.IN_TRANSIT),
    ("8", T.IN_TRANSIT), ("14", T.EXCEPTION), ("501", T.OUT_FOR_DELIVERY), ("103", T.PICKED_UP),
])
def test_kuaidi100_states(code: str, state: TrackingState) -> None:
    assert kuaidi100.map_state(code) is state


@pytest.mark.parametrize(("state", "ex", "expected"), [
    ("0", None, T.PENDING), ("1", "", T.PICKED_UP), ("2", "201", T.IN_TRANSIT),
    ("2", "202", T.OUT_FOR_DELIVERY), ("2", "211", T.OUT_FOR_DELIVERY),
    ("3", "301", T.DELIVERED), ("3", "311", T.DELIVERED), ("4", "404", T.RETURNING),
    ("4", "406", T.RETURNED), ("4", "402", T.EXCEPTION),
])
def test_kdniao_states(state: str, ex: str | None, expected: TrackingState) -> None:
    assert kdniao.map_state(state, ex)[0] is expected


def test_unknown_codes_are_errors_not_guesses() -> None:
    with pytest.raises(UnknownStatusError):
        kuaidi100.map_state("99")
    with pytest.raises(UnknownStatusError):
        kdniao.map_state("2", "299")


def test_carrier_names_and_provider_codes() -> None:
    assert carrier("顺丰").code == carrier("shunfeng").code == carrier("sf").code == "SF"
    assert by_provider_code("kuaidi100", "zhongtong").code == "ZTO"
    assert by_provider_code("kdniao", "DBL").kuaidi100 == "debangwuliu"
    with pytest.raises(UnknownCarrierError):
        carrier("安能物流")


def _k100() -> tuple[FakeKuaidi100, kuaidi100.Kuaidi100]:
    fake = FakeKuaidi100(traces={"SF100": ("5", [("2026-11-24 09:00:00", "顺丰已揽收"),
                                                 ("2026-11-25 08:10:00", "派件中，快递员 王五")])})
    settings = Kuaidi100Settings(fake.customer, fake.key, fake.salt)
    return fake, kuaidi100.Kuaidi100(settings, lambda: None)  # type: ignore[arg-type,return-value]


def test_kuaidi100_push_is_verified_and_read_in_the_documented_shape() -> None:
    fake, client = _k100()
    (report,) = client.read_push(fake.push_form("SF100", "shunfeng"))
    assert (report.carrier, report.tracking_no, report.state) == ("SF", "SF100",
                                                                   T.OUT_FOR_DELIVERY)
    assert [line.text for line in report.lines] == ["顺丰已揽收", "派件中，快递员 王五"]
    assert report.lines[0].at == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert client.push_answer(None, report.lines[0].at).body == kuaidi100.OK_ANSWER
    with pytest.raises(PushRejectedError):
        client.read_push(fake.push_form("SF100", "shunfeng", salt="forged"))


def test_kdniao_push_is_verified_and_answered_as_documented() -> None:
    fake = FakeKdniao(traces={"YT1": ("301", [("2026-11-24 09:00:00", "已揽收"),
                                              ("2026-11-25 12:00:00", "已签收，本人签收")])})
    client = kdniao.Kdniao(KdniaoSettings(fake.ebusiness_id, fake.app_key),
                           lambda: None)  # type: ignore[arg-type,return-value]
    (report,) = client.read_push(fake.push_form("YT1", "YTO"))
    assert (report.carrier, report.state, report.provider_state) == ("YTO", T.DELIVERED, "301")
    answer = client.push_answer(None, report.lines[0].at)
    assert answer.body["Success"] is True and answer.body["EBusinessID"] == "1237100"
    assert answer.body["UpdateTime"] == "2026-11-24 09:00:00"
    with pytest.raises(PushRejectedError):
        client.read_push(fake.push_form("YT1", "YTO", key="wrong-key"))


def test_refusals_raise() -> None:
    with pytest.raises(ProviderRefusedError):
        kuaidi100.parse_result({"result": False, "returnCode": "500", "message": "查询无结果"})
    with pytest.raises(ProviderRefusedError):
        kdniao.parse_result({"Success": False, "Reason": "暂无轨迹信息"})


def test_query_form_carries_the_documented_fields() -> None:
    fake, client = _k100()
    form = client.query_form(carrier("SF"), "SF100", "13800001111")
    assert json.loads(form["param"]) == {"com": "shunfeng", "num": "SF100",
                                          "phone": "13800001111", "resultv2": "1",
                                          "show": "0", "order": "desc"}
    assert form["sign"] == kuaidi100.query_sign(form["param"], fake.key, fake.customer)
