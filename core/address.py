"""Chinese delivery addresses: which province/city/district, and what is left (the detail).

Channels mostly deliver province/city/district as fields; chat messages and some channels give
one line of free text. ``parse_address`` takes both: the structured fields are trusted (a name
that is not in the division table, e.g. a 开发区 a channel uses, is kept as given), and the text
is read from its start, level by level (省 then 市 then 区县, each optional), each level only
among the divisions that fit what is already known. What follows the last division read is
the detail. Scanning only at the current position, never anywhere in the text, is what keeps
中山路 from being read as 中山市.

A district name shared by several cities (鼓楼区: 南京, 徐州, 福州, 开封) without a city to
choose by comes back *ambiguous*, with every (province, city, district) candidate.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core.divisions import CITY, DISTRICT, PROVINCE, DivisionIndex, division_index

Path = tuple[str | None, str | None, str | None]  # division codes per level
_SEPARATORS = " \t\r\n,，、;；:：/-—_()（）"
_NOT_AFTER_SHORT = "路街巷道弄号大里村"  # 中山路, 南京大街: a street, not a division


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    province: str | None
    city: str | None
    district: str | None
    detail: str  # the rest: street, number, building, room
    candidates: tuple[tuple[str, str, str], ...] = ()  # (province, city, district) when ambiguous

    @property
    def ambiguous(self) -> bool:
        return len(self.candidates) > 1

    @property
    def resolved(self) -> bool:
        """The divisions are known: an unambiguous province and city, and a district where
        the city has districts (东莞 and 仙桃 have none)."""
        if self.ambiguous or not (self.province and self.city):
            return False
        return self.district is not None or not _city_has_districts(self.province, self.city)

    @property
    def complete(self) -> bool:
        """Deliverable: ``resolved`` and a non-empty detail line."""
        return bool(self.detail) and self.resolved


def parse_address(
    text: str | None,
    *,
    province: str | None = None,
    city: str | None = None,
    district: str | None = None,
) -> ParsedAddress:
    """Parse free text plus whatever structured fields the channel gave (cached per input)."""
    return _parse((text or "").strip(), _clean(province), _clean(city), _clean(district))


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _city_has_districts(province: str, city: str) -> bool:
    index = division_index()
    for code in index.full[CITY].get(city, ()):
        parent = index.by_code[code].parent
        if parent and index.by_code[parent].name == province:
            return index.has_districts(code)
    return True  # a city we do not know: ask for a district


@lru_cache(maxsize=65536)
def _parse(text: str, province: str | None, city: str | None, district: str | None
           ) -> ParsedAddress:
    index = division_index()
    given = (province, city, district)
    paths: list[Path] | None = None
    raw: list[str | None] = [None, None, None]
    for level, name in enumerate(given):
        if name is None:
            continue
        narrowed = _narrow(index, paths, _codes(index, level, name))
        if narrowed:
            paths = narrowed
        else:
            raw[level] = name  # unknown or contradicting: kept as the channel said
    paths, rest = _scan(index, text, paths)
    return _result(index, paths, raw, rest)


def _codes(index: DivisionIndex, level: int, name: str) -> tuple[str, ...]:
    return index.full[level].get(name) or index.short[level].get(name) or ()


def _narrow(index: DivisionIndex, paths: list[Path] | None, codes: tuple[str, ...]
            ) -> list[Path]:
    """The known paths combined with the paths of ``codes``; empty when none agree."""
    fresh = [index.path(code) for code in codes]
    if paths is None:
        return fresh
    merged: list[Path] = []
    for old in paths:
        for new in fresh:
            if all(a is None or b is None or a == b for a, b in zip(old, new, strict=True)):
                path = (old[0] or new[0], old[1] or new[1], old[2] or new[2])
                if path not in merged:
                    merged.append(path)
    return merged


def _scan(index: DivisionIndex, text: str, paths: list[Path] | None
          ) -> tuple[list[Path] | None, str]:
    """Read divisions from the start of ``text``, in level order; return what is left."""
    pos, level = 0, PROVINCE
    while level <= DISTRICT:
        pos = _skip(text, pos)
        found = _match(index, text, pos, level, paths)
        if found is None:
            break
        length, matched_level, paths = found
        pos, level = pos + length, matched_level + 1
    return paths, text[_skip(text, pos):].strip()


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SEPARATORS:
        pos += 1
    return pos


def _match(index: DivisionIndex, text: str, pos: int, first_level: int,
           paths: list[Path] | None) -> tuple[int, int, list[Path]] | None:
    """The division name that starts at ``pos`` and fits: full names before short ones, then
    the longest, then the highest level (朝阳区 the district before 朝阳 the city)."""
    room = len(text) - pos
    lengths = [n for n in index.lengths.get(text[pos:pos + 1], ()) if n <= room]
    for short in (False, True):
        for length in lengths:
            word = text[pos:pos + length]
            after = text[pos + length:pos + length + 1]
            if short and after and after in _NOT_AFTER_SHORT:
                continue
            for level in range(first_level, DISTRICT + 1):
                codes = (index.short if short else index.full)[level].get(word)
                narrowed = _narrow(index, paths, codes) if codes else None
                if narrowed:
                    extra = 1 if short and level == CITY and after == "州" else 0  # 恩施州
                    return length + extra, level, narrowed
    return None


def _result(index: DivisionIndex, paths: list[Path] | None, raw: list[str | None], rest: str
            ) -> ParsedAddress:
    names: list[str | None] = list(raw)
    candidates: tuple[tuple[str, str, str], ...] = ()
    if paths:
        for level in (PROVINCE, CITY, DISTRICT):
            codes = {path[level] for path in paths}
            if len(codes) == 1 and (code := codes.pop()) is not None:
                names[level] = index.by_code[code].name
        if len(paths) > 1:
            candidates = tuple(_names(index, path) for path in sorted(paths, key=str))
    return ParsedAddress(names[0], names[1], names[2], rest, candidates)


def _names(index: DivisionIndex, path: Path) -> tuple[str, str, str]:
    province, city, district = (index.by_code[c].name if c else "" for c in path)
    return province, city, district
