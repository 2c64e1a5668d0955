"""统一社会信用代码 (unified social credit code): the company tax id on a 专票/普票 request.

GB 32100-2015: 18 characters = registration authority (1) + entity type (1) + administrative
division (6) + organisation code (9, GB 11714 with its own check character) + check character.
The alphabet has 31 characters (no I, O, S, V, Z); the check character is
``(31 - Σ value(c_i) × w_i mod 31) mod 31`` with ``w_i = 3^i mod 31`` (the weights below).
A wrong check character is what a typo on an invoice form gives; the invoice health rule
rejects it before a finance clerk types it into the tax system.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, ...
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714-1997 organisation code


def check_char(first17: str) -> str:
    """The 18th character for the first 17 (ValueError on a character outside the alphabet)."""
    if len(first17) != 17:
        raise ValueError(f"expected 17 characters, got {len(first17)}")
    try:
        total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    except KeyError as error:
        raise ValueError(f"not a code character: {error.args[0]!r}") from None
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """18 characters from the alphabet (upper case) with the right check character."""
    if len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_char(code[:17]) == code[17]


def normalize(code: str) -> str:
    """What a buyer typed, without spaces and in upper case (``9144 0300 ...`` is common)."""
    return "".join(code.split()).upper()


def org_code(digits8: str) -> str:
    """A GB 11714 organisation code: 8 digits + their check character (0-9 or X)."""
    remainder = 11 - sum(int(d) * w for d, w in zip(digits8, _ORG_WEIGHTS, strict=True)) % 11
    return digits8 + {10: "X", 11: "0"}.get(remainder, str(remainder))
