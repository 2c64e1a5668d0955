"""统一社会信用代码 for the demo: valid ones (a healthy company invoice) and invalid ones (the
TAX_ID_INVALID anomaly). The code rules themselves live in ``core.taxid``: one way to compute
and check a check character, used here and by the invoice health rule.
"""

from __future__ import annotations

import random

from core.taxid import ALPHABET, check_char, is_valid, org_code

__all__ = ["check_char", "corrupt", "is_valid", "make", "org_code"]


def make(division: str, rng: random.Random) -> str:
    """A valid code for an enterprise (``91``) registered in ``division``."""
    body = "91" + division + org_code(f"{rng.randrange(10**8):08d}")
    return body + check_char(body)


def corrupt(code: str) -> str:
    """The same code with a wrong check character: what a typo on an invoice form gives."""
    right = ALPHABET.index(code[17]) if code[17] in ALPHABET else 0
    return code[:17] + ALPHABET[(right + 1) % len(ALPHABET)]
