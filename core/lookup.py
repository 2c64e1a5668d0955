"""What order a person means when they type to the bot: "1234", "查单 1234", "taobao:1234"."""

from __future__ import annotations

import re

_MENTION = re.compile(r"@\S+")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}:[A-Za-z0-9_\-]{1,64}|[A-Za-z0-9_\-]{3,64}")


def order_ref(text: str) -> str | None:
    """The first token that can be an order reference (``channel:id`` or an id containing a
    digit), or None. Chinese command words around it ("查单", "订单") are simply skipped."""
    for token in _TOKEN.findall(_MENTION.sub(" ", text)):
        if any(ch.isdigit() for ch in token):
            return str(token)
    return None
