"""Address dimension: is the receiver's address deliverable (ADDRESS_MISSING / _AMBIGUOUS)?

Encrypted or masked receiver fields (see ``core.privacy``) are not judged as missing: their
plain text comes from the platform's decrypt API later. The parsed address is returned too,
because carrier matching needs the destination province and city.
"""

from __future__ import annotations

from core.address import ParsedAddress, parse_address
from core.anomalies import AnomalyCode
from core.health.model import Issue
from core.order import Receiver
from core.privacy import is_protected


def check_address(receiver: Receiver) -> tuple[ParsedAddress | None, list[Issue]]:
    """(the parsed address or None when it cannot be judged, the issues found)."""
    divisions = (receiver.province, receiver.city, receiver.district)
    if any(is_protected(value) for value in divisions):
        return None, []
    hidden = is_protected(receiver.address)
    parsed = parse_address(None if hidden else receiver.address, province=divisions[0],
                           city=divisions[1], district=divisions[2])
    if parsed.ambiguous:
        return parsed, [_ambiguous(parsed)]
    missing = [label for label, absent in (
        ("省份", not parsed.province), ("城市", not parsed.city),
        ("区县", bool(parsed.province and parsed.city) and not parsed.resolved),
        ("详细地址", not parsed.detail and not hidden),
    ) if absent]  # fmt: skip
    if not missing:
        return parsed, []
    message = f"收货地址缺少{'、'.join(missing)}，请向买家补录。"
    return parsed, [Issue("address.missing", AnomalyCode.ADDRESS_MISSING, message,
                          {"missing": missing})]


def _ambiguous(parsed: ParsedAddress) -> Issue:
    places = [f"{province}{city}{district}" for province, city, district in parsed.candidates]
    names = sorted({district or city for _, city, district in parsed.candidates})
    message = (f"收货地址中的“{'/'.join(names)}”有 {len(places)} 处："
               f"{'、'.join(places)}，请向买家确认城市。")
    return Issue("address.ambiguous", AnomalyCode.ADDRESS_AMBIGUOUS, message,
                 {"candidates": [list(c) for c in parsed.candidates]})
