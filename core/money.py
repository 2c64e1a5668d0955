"""Money is integer fen (分). Channels send yuan strings ("12.30"), floats or fen; convert once."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from core.errors import InvalidAmountError

_FEN_PER_YUAN = Decimal(100)
# No order is worth 100 billion yuan; a larger number is a parsing accident (e.g. "1e400").
MAX_FEN = 10**13


def yuan_to_fen(value: str | int | float | Decimal) -> int:
    """Exact yuan -> fen. Rejects fractions of a fen, negatives, NaN and non-numbers.

    A float is read through its shortest repr (``19.9`` -> 1990), never its binary value.
    """
    if isinstance(value, bool):
        raise InvalidAmountError(f"not an amount: {value!r}")
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except InvalidOperation:
        raise InvalidAmountError(f"not an amount: {value!r}") from None
    if not amount.is_finite() or amount < 0:
        raise InvalidAmountError(f"not a non-negative amount: {value!r}")
    fen = amount * _FEN_PER_YUAN
    if fen != fen.to_integral_value():
        raise InvalidAmountError(f"fraction of a fen: {value!r}")
    if fen > MAX_FEN:
        raise InvalidAmountError(f"implausibly large amount: {value!r}")
    return int(fen)


def fen_to_yuan(fen: int) -> str:
    """Fen -> "12.30" for cards and replies."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
