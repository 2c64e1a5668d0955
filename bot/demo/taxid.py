"""统一社会信用代码 (unified social credit code, the company tax id on invoices).

GB 32100-2015: 18 characters = registration authority (1) + entity type (1) + administrative
division (6) + organisation code (9, GB 11714 with its own check character) + check character.
The alphabet has 31 characters (no I, O, S, V, Z); the check character is
``(31 - Σ value(c_i) × w_i mod 31) mod 31`` with ``w_i = 3^i mod 31`` (the weights below).
The demo needs *valid* codes (a healthy company invoice) and *invalid* ones (the
TAX_ID_INVALID anomaly), so both the computation and the check live here.
"""

from __future__ import annotations

import random

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997 organisation code


def check_char(first17: str) -> str:
    """The 18th character for the first 17 (raises ValueError on a character outside the set)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """18 characters from the alphabet with the right check character."""
    if len(code) != 18 or any(c not in ALPHABET for c in code):
        return False
    return check_char(code[:17]) == code[17]


def org_code(digits8: str) -> str:
    """A GB 11714 organisation code: 8 digits + their check character (0-9 or X)."""
    remainder = 11 - sum(int(d) * w for d, w in zip(digits8, _ORG_WEIGHTS, strict=True)) % 11
    return digits8 + {10: "X", 11: "0"}.get(remainder, str(remainder))


def make(division: str, rng: random.Random) -> str:
    """A valid code for an enterprise (``91``) registered in ``division``."""
    body = "91" + division + org_code(f"{rng.randrange(10**8):08d}")
    return body + check_char(body)


def corrupt(code: str) -> str:
    """The same code with a wrong check character: what a typo on an invoice form gives."""
    right = ALPHABET.index(code[17]) if code[17] in ALPHABET else 0
    return code[:17] + ALPHABET[(right + 1) % len(ALPHABET)]
