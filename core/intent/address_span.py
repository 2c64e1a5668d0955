"""Where a new delivery address sits in a message, parsed by the health checks' parser.

``core.address.parse_address`` reads divisions from the *start* of its text (that is what keeps
中山路 from becoming 中山市), so this module only finds where the address starts and ends: it
tries the text right after a cue (改成, 地址:, 寄到) and after each space or comma, and takes the
first start where the parser recognises a province, city or district. Receiver names before the
address ("李四 13900001111 上海市...") are skipped that way; phones and order numbers have been
blanked out by the caller. The address ends at the end of its clause, or at the first
space-separated word that is not part of an address ("... 90号 这单还急" stops after 90号).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from core.address import ParsedAddress, parse_address
from core.intent.model import Address

_CUES = ("改", "改成", "改为", "改到", "换成", "变更为", "寄到", "发到", "送到", "改寄", "地址",
         "收货信息", "新地址", "应该是", "正确地址", "正确的是")
_HINTS = ("省", "市", "区", "县")
_CLAUSE_END = re.compile(r"[,。!?;]")
_STARTS = re.compile(r"(?<=[\s:,、()])\S")
_ADDRESS_CHARS = frozenset("路街道巷弄号楼栋幢室村镇乡院苑厦场园区里坊层座城")
# Words that start a sentence of their own and never occur in a street address: requests,
# thanks, time words, other receiver fields, conjunctions, sentence-final particles.
_NOT_ADDRESS = re.compile(r"然后|另外|还有|顺便|麻烦|谢谢|多谢|感谢|辛苦|拜托|帮忙|帮我|请|"
                          r"尽快|赶紧|马上|今天|明天|急|电话|手机号|收件人|收货人|联系人|姓名|"
                          r"改一下|改下|改成|改为|换成|可以吗|行吗|好吗|的话|吗|吧|呢|啊|呀|哈|哦|嘛")
# A word after a space that still belongs to the address: a named place (…932号 湖南大学).
_PLACE_WORD = re.compile(r"(?:大学|学院|学校|中学|小学|医院|小区|大厦|公寓|广场|花园|酒店|"
                         r"宾馆|宿舍|中心|驿站|门卫|前台|超市)$")
# What an invoice's buyer fields say (发票抬头改成上海XX有限公司, 开票信息: 名称 成都XX公司): the
# place there is a company's name or registered address, not where the parcel goes.
_INVOICE_FIELD = re.compile(r"(?:抬头|名称|单位|开票信息|开票资料|税号|公司名)[^,。!?;]{0,6}$")
_LONGEST = 120  # no delivery address line is longer; bounds the parser's work per start
_MOST_STARTS = 32  # a chat message has a handful of words before its address

_JOIN = re.compile(r"(?<=[^\x00-\x7f]) +| +(?=[^\x00-\x7f])")


@dataclass(frozen=True, slots=True)
class AddressSpan:
    address: Address
    start: int
    end: int


def find_address(text: str) -> AddressSpan | None:
    """The first parseable address in ``text`` (numbers that are not addresses blanked)."""
    if not any(cue in text for cue in _CUES) and not any(h in text for h in _HINTS):
        return None
    for start in _candidate_starts(text)[:_MOST_STARTS]:
        clause_end = _CLAUSE_END.search(text, start)
        end = min(clause_end.start() if clause_end else len(text), start + _LONGEST)
        parsed = parse_address(text[start:end])
        if _recognised(parsed) and not _INVOICE_FIELD.search(text, 0, start):
            detail, used = _trim_detail(parsed.detail)
            if not (parsed.city or parsed.district or parsed.candidates
                    or any(ch.isdigit() for ch in detail) or _ADDRESS_CHARS & set(detail)):
                continue  # a province alone ("寄到新疆的 走到哪了") says where, not an address
            tail = len(parsed.detail) - used
            return AddressSpan(_address(parsed, detail), start, end - tail)
    return None


def _candidate_starts(text: str) -> list[int]:
    starts = {0}
    for cue in _CUES:
        at = text.find(cue)
        while at >= 0:
            starts.add(at + len(cue))
            at = text.find(cue, at + 1)
    starts.update(match.start() for match in _STARTS.finditer(text))
    return sorted(start for start in starts if start < len(text))


def _recognised(parsed: ParsedAddress) -> bool:
    return bool(parsed.province or parsed.city or parsed.district or parsed.candidates)


def _trim_detail(detail: str) -> tuple[str, int]:
    """Keep the leading words that belong to an address; return them joined and how many
    characters of ``detail`` they cover. An address run into the next sentence without a
    break ("...77号然后电话也改成...", "...8号麻烦尽快发") ends where that sentence starts."""
    kept: list[str] = []
    used = 0
    for match in re.finditer(r"\S+", detail):
        word = match.group()
        if kept and not (any(ch.isdigit() for ch in word) or _ADDRESS_CHARS & set(word)
                         or _PLACE_WORD.search(word)):
            break
        stop = _NOT_ADDRESS.search(word)
        if stop is not None:
            if stop.start() > 0:
                kept.append(word[:stop.start()])
                used = match.start() + stop.start()
            break
        kept.append(word)
        used = match.end()
    return _JOIN.sub("", " ".join(kept)), used


def _address(parsed: ParsedAddress, detail: str) -> Address:
    complete = replace(parsed, detail=detail).complete
    return Address(parsed.province, parsed.city, parsed.district, detail, parsed.candidates,
                   complete)
