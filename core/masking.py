"""Masking of personal data for logs and customer replies (phones and street addresses)."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})[- ]?(\d{7,8})(?!\d)")


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; other numbers keep only their last 4 digits."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) >= 11 and digits[-11] == "1":
        return f"{digits[-11:-8]}****{digits[-4:]}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_address(address: str | None, keep: int = 2) -> str | None:
    """Keep the first ``keep`` characters, star the rest (at most 8 stars).

    The canonical ``receiver.address`` is the detail line (street, building, room): what
    identifies a home. Province/city/district live in their own fields and stay readable.
    For a full one-line address pass ``keep=6`` to leave the region visible.
    """
    if not address:
        return address
    shown = address[:keep]
    return shown + "*" * min(max(len(address) - keep, 0), 8)


def mask_text(text: str) -> str:
    """Mask every mobile or landline number found in free text (log messages, replies)."""
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(2)[-4:]}", text)
