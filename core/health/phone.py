"""Phone dimension: the receiver's number must be a valid mainland mobile (PHONE_INVALID).

Validated with ``phonenumbers`` (Google's libphonenumber metadata, so new ranges such as 19x
and 16x are known). Platform privacy numbers (淘宝/拼多多 虚拟号 ``17012345678-1234`` or
``...转1234``) are a mobile plus an extension and count as valid. A masked or encrypted
receiver (``core.privacy``) is not judged at all: the real number comes from decryption.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import phonenumbers
from phonenumbers import PhoneNumberType

from core.anomalies import AnomalyCode
from core.health.model import Issue
from core.masking import mask_phone
from core.order import Receiver
from core.privacy import needs_decryption

_EXTENSION = re.compile(r"^(.*?\d)\s*(?:-|转|#|,|，|ext\.?)\s*\d{1,6}\s*$", re.IGNORECASE)
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_LANDLINE_TYPES = _MOBILE_TYPES | {PhoneNumberType.FIXED_LINE}


def check_phone(receiver: Receiver, *, region: str = "CN",
                accept_landline: bool = False) -> list[Issue]:
    if needs_decryption(receiver):
        return []
    phone = (receiver.phone or "").strip()
    if not phone:
        return [Issue("phone.invalid", AnomalyCode.PHONE_INVALID,
                      "收件人手机号缺失，请向买家补录。", {"problem": "missing"})]
    if is_valid_phone(phone, region, accept_landline):
        return []
    kind = "手机号或座机号" if accept_landline else "手机号"
    message = f"收件人手机号 {mask_phone(phone)} 不是有效的{kind}，请向买家核实。"
    return [Issue("phone.invalid", AnomalyCode.PHONE_INVALID, message, {"problem": "invalid"})]


_PLAIN_MOBILE = re.compile(r"1\d{10}")


def is_valid_phone(phone: str, region: str = "CN", accept_landline: bool = False) -> bool:
    """A valid number of ``region`` (a mobile; a landline too when accepted).

    The common case, a bare 11-digit mainland mobile, is matched against libphonenumber's own
    CN mobile pattern directly (what ``is_valid_number`` ends up doing, without the parse
    overhead: the health check's hot path)."""
    if region == "CN" and _PLAIN_MOBILE.fullmatch(phone):
        return _cn_mobile().fullmatch(phone) is not None
    return _is_valid(phone, region, accept_landline)


@cache
def _cn_mobile() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    pattern = metadata.mobile.national_number_pattern if metadata and metadata.mobile else None
    if not pattern:
        raise RuntimeError("phonenumbers has no CN mobile pattern")
    return re.compile(pattern)


@lru_cache(maxsize=65536)
def _is_valid(phone: str, region: str, accept_landline: bool) -> bool:
    for candidate in _forms(phone):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.region_code_for_number(number) != region:
            continue
        if not phonenumbers.is_valid_number(number):
            continue
        kinds = _LANDLINE_TYPES if accept_landline else _MOBILE_TYPES
        if phonenumbers.number_type(number) in kinds:
            return True
    return False


def _forms(phone: str) -> tuple[str, ...]:
    """The number as written, and without a privacy-number extension if it has one."""
    match = _EXTENSION.match(phone)
    return (phone, match.group(1)) if match else (phone,)
