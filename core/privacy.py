"""Receiver fields that platforms hand out masked (``张**``) or encrypted (ciphertext tokens).

Such orders are stored as they came (the ciphertext is kept so the platform's decrypt API can
be called later) and marked as needing decryption; they must never fail ingestion and never be
mistaken for a missing address.
"""

from __future__ import annotations

from core.order import RECEIVER_FIELDS, Receiver

# Ciphertext tokens are wrapped in a marker pair: 拼多多/淘宝 ``~...~``, 抖店 ``#...#``,
# search indexes ``$...$``.
_WRAPPERS = ("~", "#", "$")


def is_protected(value: str | None) -> bool:
    """True for a masked (contains ``*``) or encrypted (marker-wrapped token) field value."""
    if not value:
        return False
    if "*" in value:
        return True
    return len(value) > 8 and any(value.startswith(w) and value.endswith(w) for w in _WRAPPERS)


def needs_decryption(receiver: Receiver) -> bool:
    """Any receiver field is masked or encrypted."""
    return any(is_protected(getattr(receiver, name)) for name in RECEIVER_FIELDS)
