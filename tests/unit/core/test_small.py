"""Money, masking, privacy and time helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.clock import from_unix, parse_shanghai, shanghai_text
from core.errors import InvalidAmountError
from core.masking import mask_address, mask_phone, mask_text
from core.money import fen_to_yuan, yuan_to_fen
from core.order import Receiver
from core.privacy import is_protected, needs_decryption


@pytest.mark.parametrize(("value", "fen"), [("12.30", 1230), ("0", 0), (19.9, 1990),
                                            ("1999", 199900), (" 0.01 ", 1), (5, 500)])
def test_yuan_to_fen(value: object, fen: int) -> None:
    assert yuan_to_fen(value) == fen  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["12.345", "-1", "abc", "NaN", True, "", "1e400"])
def test_bad_amounts(bad: object) -> None:
    with pytest.raises(InvalidAmountError):
        yuan_to_fen(bad)  # type: ignore[arg-type]


def test_fen_to_yuan() -> None:
    assert fen_to_yuan(1230) == "12.30" and fen_to_yuan(5) == "0.05"


def test_mask_phone() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("0571-88886666") == "********6666"
    assert mask_phone(None) is None


def test_mask_address_keeps_only_the_region() -> None:
    masked = mask_address("浙江省杭州市西湖区文三路90号2幢301室", keep=6)
    assert masked is not None and masked.startswith("浙江省杭州市") and "90" not in masked
    assert mask_address("文三路 90 号 2 幢") == "文三********"


def test_mask_text_finds_numbers_in_free_text() -> None:
    text = "客户 13812345678 说改到 0571-88886666，订单 3900000000000001"
    masked = mask_text(text)
    assert "13812345678" not in masked and "138****5678" in masked
    assert "88886666" not in masked
    assert "3900000000000001" in masked  # order numbers are not phones


def test_protected_receiver_fields() -> None:
    assert is_protected("张**")
    assert is_protected("~AgAAAAEPqMgAmCu7eQBmHE6u1xS0v0Dq6vEbpmdU/dg=~1~~")
    assert is_protected("#5n5FDXQmkiU1+7o4yYVfMhBOagsAFR3h9Dbkt1B0yKc=*CgwIARCtHBiqIC=#1##")
    assert not is_protected("文三路 90 号") and not is_protected(None)
    assert needs_decryption(Receiver(name="张三", phone="138****5678"))
    assert not needs_decryption(Receiver(name="张三", phone="13812345678"))


def test_time_helpers() -> None:
    at = parse_shanghai("2026-01-02 10:00:00", "created")
    assert at == datetime(2026, 1, 2, 2, 0, tzinfo=UTC)
    assert from_unix("1767319200", "t") == at
    assert shanghai_text(at) == "2026-01-02 10:00"
    with pytest.raises(ValueError, match="created"):
        parse_shanghai("02/01/2026", "created")


@pytest.mark.parametrize("bad", ["2026-01-02T10:00:00", "2026-1-2 10:00:00", "2026-01-02 10:00",
                                 "2026-13-02 10:00:00", "2026-01-02 10:00:00+08:00", "", "x"])
def test_shanghai_times_must_have_the_exact_shape(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD HH:MM:SS"):
        parse_shanghai(bad, "t")
