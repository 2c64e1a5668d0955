"""统一社会信用代码 check characters (GB 32100-2015) on real published codes."""

from __future__ import annotations

import pytest

from core import taxid

# Published codes of real companies, as printed on their business licences / invoices:
# 华为技术有限公司, 北京小米科技有限责任公司, 阿里巴巴(中国)有限公司, 深圳市腾讯计算机系统有限公司,
# and two more from the registries (the check characters are theirs, not computed here).
REAL = ["914403001922038216", "91110108551385082Q", "91330100716105852F",
        "91440300708461136T", "91350100M000100Y43", "911100001000128855"]


def flip(code: str, at: int) -> str:
    """The code with one character changed to its neighbour in the alphabet (a typo)."""
    value = taxid.ALPHABET.index(code[at])
    return code[:at] + taxid.ALPHABET[(value + 1) % 31] + code[at + 1:]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_validate(code: str) -> None:
    assert taxid.is_valid(code)
    assert taxid.check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", REAL)
@pytest.mark.parametrize("at", [17, 2, 9, 16])
def test_one_flipped_character_is_caught(code: str, at: int) -> None:
    assert not taxid.is_valid(flip(code, at))


def test_two_swapped_neighbours_are_caught() -> None:
    code = "914403001922038216"
    assert code[12] != code[13]
    assert not taxid.is_valid(code[:12] + code[13] + code[12] + code[14:])


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y43X",
                                  "91350100M000100I43", "91350100m000100Y43",
                                  "91440300708461136S"])
def test_wrong_shapes_do_not(code: str) -> None:
    assert not taxid.is_valid(code)


def test_normalize_takes_spaces_and_case_out() -> None:
    assert taxid.normalize(" 9111 0108 5513 8508 2q ") == "91110108551385082Q"


def test_check_char_refuses_foreign_characters() -> None:
    with pytest.raises(ValueError, match="'I'"):
        taxid.check_char("91350100M000100I4")


@pytest.mark.parametrize("code", [c for c in REAL if c[8:16].isdigit()])
def test_organisation_code_check_character_matches_real_codes(code: str) -> None:
    """Characters 9-17 are a GB 11714 organisation code with its own check character."""
    assert taxid.org_code(code[8:16]) == code[8:17]
