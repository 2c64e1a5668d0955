"""统一社会信用代码: the check character the demo computes is the real GB 32100-2015 one."""

from __future__ import annotations

import random

import pytest

from bot.demo import taxid

# Published codes of real companies (check characters computed by their registries).
REAL = ["91350100M000100Y43", "914403001922038216", "91110108551385082Q", "911100001000128855",
        "91330100716105852F"]


@pytest.mark.parametrize("code", REAL)
def test_real_codes_validate(code: str) -> None:
    assert taxid.is_valid(code)
    assert taxid.check_char(code[:17]) == code[17]


@pytest.mark.parametrize("code", REAL)
def test_corrupted_codes_do_not(code: str) -> None:
    assert not taxid.is_valid(taxid.corrupt(code))


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y43X",
                                  "91350100M000100I43", "91350100m000100Y43"])
def test_wrong_shapes_do_not(code: str) -> None:
    assert not taxid.is_valid(code)


def test_made_codes_are_valid_and_carry_the_division() -> None:
    rng = random.Random(7)
    for _ in range(200):
        code = taxid.make("330106", rng)
        assert taxid.is_valid(code) and code.startswith("91330106")


@pytest.mark.parametrize("code", [c for c in REAL if c[8:16].isdigit()])
def test_organisation_code_check_character_matches_real_codes(code: str) -> None:
    """Characters 9-17 are a GB 11714 organisation code with its own check character."""
    assert taxid.org_code(code[8:16]) == code[8:17]
