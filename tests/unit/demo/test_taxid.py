"""The demo makes valid 统一社会信用代码 and corrupts them with the core rules (core.taxid)."""

from __future__ import annotations

import random

import pytest

from bot.demo import taxid
from core.taxid import is_valid

REAL = ["91350100M000100Y43", "914403001922038216", "91110108551385082Q"]


@pytest.mark.parametrize("code", REAL)
def test_corrupted_codes_do_not_validate(code: str) -> None:
    assert not is_valid(taxid.corrupt(code))


def test_made_codes_are_valid_and_carry_the_division() -> None:
    rng = random.Random(7)
    for _ in range(200):
        code = taxid.make("330106", rng)
        assert is_valid(code) and code.startswith("91330106")
