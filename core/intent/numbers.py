"""Order numbers, tracking numbers and mobile phones in (normalised) chat text.

Shapes, from the channel samples in ``tests/data/channels`` and the carriers' published formats:
- orders: 淘宝/天猫 ``tid`` 18-19 digits, 抖店 ``order_id`` 19 digits, 微信小店 ``order_id`` 19
  digits, 拼多多 ``order_sn`` ``YYMMDD-`` + 15 digits, 京东 ``orderId`` 11-13 digits, 有赞
  ``tid`` ``E`` + 20-26 digits, POS receipts ``SH01-20260106-0001``, ``channel:id`` as the bot's
  own look-up accepts, and short internal numbers (4-10 digits, "急单 1234567").
- tracking: 顺丰 ``SF`` + 12-15 digits, 圆通 ``YT`` + digits, 京东物流 ``JD``/``JDVA``-style +
  digits, 极兔 ``JT`` + digits, 德邦 ``DPK`` + digits, UPU S10 (EMS international,
  ``EA123456789CN``); bare digits for 中通 (73/75/78..., 12-15), 申通 (77..., 15), 韵达
  (3x/4x, 13-15) and EMS domestic (1x/9x, 13).
- phones: CN mobiles ``1[3-9]`` + 9 digits, with +86/86, spaces or dashes; returned as 11 digits.

A bare 12-15 digit number can be a 京东 order or a carrier's number: the words right before or
after it decide (中通/快递单号 -> tracking, 订单/京东 -> order), then the prefix. Short numbers
next to a unit (90号, 20元, 2026年), after 尾号, well-known hotlines (12315), or the visible part of
a masked phone (186****3321) are not orders.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_B, _E = r"(?<![A-Za-z0-9])", r"(?![A-Za-z0-9])"
_PHONE = re.compile(_B + r"(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})" + _E)
_LETTER_TRACKING: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(_B + pattern + _E, re.IGNORECASE), carrier) for pattern, carrier in (
        (r"SF\d{12,15}", "sf"), (r"YT\d{12,15}", "yto"), (r"JD[A-Z]{0,2}\d{11,15}", "jd"),
        (r"JT\d{12,15}", "jtexpress"), (r"DPK\d{9,15}", "deppon"),
        (r"[A-Z]{2}\d{9}CN", "ems")))
_LETTER_ORDER = re.compile(
    _B + r"(?:(?:taobao|tmall|douyin|pdd|jd|youzan|wechat_shop|pos):[A-Za-z0-9_\-]{1,64}"
    r"|E\d{20,26}|\d{6}-\d{15}|[A-Z]{1,4}\d{0,4}-\d{8}-\d{3,6})" + _E)
# (next to a mask's asterisks, 186****3321, digits are a fragment of a hidden phone or name)
_DIGITS = re.compile(r"(?<![A-Za-z0-9\-.*])\d{4,20}(?![A-Za-z0-9\-.*])")
_CARRIERS = (("京东快递", "jd"), ("京东物流", "jd"), ("顺丰", "sf"), ("中通", "zto"),
             ("圆通", "yto"), ("申通", "sto"), ("韵达", "yunda"), ("极兔", "jtexpress"),
             ("德邦", "deppon"), ("邮政", "ems"), ("EMS", "ems"), ("百世", "best"))
_TRACKING_WORDS = ("快递单号", "快递号", "运单", "物流单号", "快递")
_ORDER_WORDS = ("订单", "京东", "淘宝", "天猫", "抖音", "抖店", "拼多多", "有赞", "视频号",
                "jd")
_UNITS = "元块号室栋楼层件个箱米年月日点分斤片套张条份台天次期%号弄幢座"
_NOT_AFTER = ("尾号", "后四位", "后4位", "¥", "$", "第")
_HOTLINES = frozenset({"12315", "12345", "10086", "10010", "10000", "95338", "95311",
                       "95554", "95546", "95543"})


@dataclass(frozen=True, slots=True)
class Found:
    kind: str  # "order" | "tracking" | "phone"
    value: str
    start: int
    end: int
    carrier: str = ""


def find_numbers(text: str) -> list[Found]:
    """Every order/tracking/phone in ``text``, in order of appearance (non-overlapping)."""
    found: list[Found] = []
    taken = bytearray(len(text))

    def claim(start: int, end: int) -> bool:
        if any(taken[start:end]):
            return False
        taken[start:end] = b"\x01" * (end - start)
        return True

    for pattern, carrier in _LETTER_TRACKING:
        for match in pattern.finditer(text):
            if claim(*match.span()):
                found.append(Found("tracking", match.group().upper(), *match.span(), carrier))
    for match in _LETTER_ORDER.finditer(text):
        if claim(*match.span()):
            found.append(Found("order", match.group(), *match.span()))
    for match in _PHONE.finditer(text):
        if not _order_context(text, match.start()) and claim(*match.span()):
            found.append(Found("phone", "".join(match.groups()), *match.span()))
    for match in _DIGITS.finditer(text):
        item = _classify(text, match.group(), match.start(), match.end())
        if item is not None and claim(match.start(), match.end()):
            found.append(item)
    return sorted(found, key=lambda item: item.start)


def _classify(text: str, digits: str, start: int, end: int) -> Found | None:
    size = len(digits)
    if size >= 16:
        return Found("order", digits, start, end)
    carrier = _carrier_near(text, start, end)
    if 12 <= size <= 15:
        if carrier or _tracking_context(text, start):
            return Found("tracking", digits, start, end, carrier or _carrier_by_prefix(digits))
        if _order_context(text, start):
            return Found("order", digits, start, end)
        by_prefix = _carrier_by_prefix(digits)
        if by_prefix or size >= 14:
            return Found("tracking", digits, start, end, by_prefix)
        return Found("order", digits, start, end)
    if size == 11 and not (digits[0] == "1" and digits[1] in "3456789"):
        return Found("order", digits, start, end)
    if size <= 10 and _plain_short_number(text, digits, start, end):
        return Found("order", digits, start, end)
    return None


def _plain_short_number(text: str, digits: str, start: int, end: int) -> bool:
    """A short internal order number, not a quantity, price, date, house number or hotline."""
    after = text[end:end + 1]
    before = text[max(0, start - 3):start]
    return (digits not in _HOTLINES and not (after and after in _UNITS)
            and not before.endswith(_NOT_AFTER) and not text[end:end + 2].startswith(" 号"))


def _carrier_near(text: str, start: int, end: int) -> str:
    window = text[max(0, start - 10):start] + "|" + text[end:end + 6]
    hits = [(window.rfind(word, 0, window.index("|")), code) for word, code in _CARRIERS]
    before = [hit for hit in hits if hit[0] >= 0]
    if before:
        return max(before)[1]
    after = window[window.index("|"):]
    return next((code for word, code in _CARRIERS if word in after), "")


def _tracking_context(text: str, start: int) -> bool:
    return any(word in text[max(0, start - 8):start] for word in _TRACKING_WORDS)


def _order_context(text: str, start: int) -> bool:
    before = text[max(0, start - 6):start]
    return any(word in before for word in _ORDER_WORDS) and "快递" not in before


def _carrier_by_prefix(digits: str) -> str:
    """Carrier guessed from a bare number's prefix and length ("" when it looks like none)."""
    size, head = len(digits), digits[:2]
    if head == "77" and size == 15:
        return "sto"
    if digits[0] == "7" and 12 <= size <= 15:
        return "zto"
    if digits[0] in "34" and 13 <= size <= 15:
        return "yunda"
    if digits[0] in "19" and size == 13:
        return "ems"
    return ""
