"""The rule set a health check runs with: built from ``[health]`` in config by ``bot.config``.

Every rule has an id (``dimension.name``) and a mode (enforce / shadow / off); ids missing from
the modes table are enforced. Tables (credit, carriers, custom-order rules) are plain data so
that the service and ``orderbot check`` run exactly the same rules from the same file.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.health.facts import SpecValue
from core.health.model import Mode

RULE_IDS: tuple[str, ...] = (
    "address.missing", "address.ambiguous", "phone.invalid", "credit.blacklist",
    "credit.level", "stock.reservable", "carrier.match", "invoice.title", "invoice.tax_id",
)  # fmt: skip
CUSTOM_PREFIX = "custom."

_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
    "<": operator.lt, ">": operator.gt,
}
_CONDITION = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$")


class RuleError(ValueError):
    """A rule in config does not parse; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class Condition:
    """``depth_cm < 45``: a spec field compared with a number (or a quoted string)."""

    field: str
    op: str
    value: SpecValue

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _CONDITION.match(text)
        if not match:
            raise RuleError(f"expected '<field> <op> <value>' (op one of < <= > >= == !=), "
                            f"got {text!r}")
        name, op, raw = match.groups()
        if raw[0] in "\"'" and raw[-1] == raw[0] and len(raw) >= 2:
            return cls(name, op, raw[1:-1])
        if raw in ("true", "false"):
            return cls(name, op, raw == "true")
        try:
            return cls(name, op, float(raw))
        except ValueError:
            raise RuleError(f"value {raw!r} is neither a number nor a quoted string") from None

    def holds(self, spec: Mapping[str, SpecValue]) -> bool | None:
        """True/False, or None when the field is absent or not comparable (not decidable)."""
        value = spec.get(self.field)
        if value is None or isinstance(value, str) != isinstance(self.value, str):
            return None
        return bool(_OPERATORS[self.op](value, self.value))

    def __str__(self) -> str:
        value = self.value if not isinstance(self.value, float) else f"{self.value:g}"
        return f"{self.field} {self.op} {value}"


@dataclass(frozen=True, slots=True)
class CustomRule:
    """Per category: when ``when`` holds (or always), the line needs these files and fields.

    A *conflict* rule instead names a spec the process cannot make (``when = "depth_cm < 60"``
    for a corner sofa): when it holds, the line conflicts with the process
    (CUSTOM_SPEC_CONFLICT, a C freeze); when it cannot be decided, nothing is asserted."""

    id: str
    category: str
    when: Condition | None = None
    attachments: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    mode: Mode = Mode.ENFORCE
    message: str = ""  # optional sentence for the card; a default one is composed otherwise
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class CarrierRoute:
    """A row of the carrier table: where, how heavy and how fast -> which carriers serve it."""

    carriers: tuple[str, ...]
    provinces: frozenset[str] = frozenset()  # empty: anywhere
    cities: frozenset[str] = frozenset()  # empty: any city of those provinces
    max_weight_g: int | None = None  # None: no limit
    fastest_hours: float | None = None  # the quickest delivery these carriers can promise

    def serves(self, province: str | None, city: str | None, weight_g: int | None,
               promise_hours: float | None) -> bool:
        """Unknown weight or promise match any row: they cannot rule a carrier out."""
        if self.provinces and province not in self.provinces:
            return False
        if self.cities and city not in self.cities:
            return False
        if self.max_weight_g is not None and weight_g is not None \
                and weight_g > self.max_weight_g:
            return False
        return not (self.fastest_hours is not None and promise_hours is not None
                    and promise_hours < self.fastest_hours)


@dataclass(frozen=True, slots=True)
class CreditRecord:
    level: int | None = None  # higher is better; None: unknown
    blacklisted: bool = False
    note: str = ""  # why, for the card ("拒收 3 次")


@dataclass(frozen=True, slots=True)
class CreditTable:
    """Buyer credit from config: blacklist by buyer id or phone, levels by buyer id."""

    blacklist: frozenset[str] = frozenset()
    levels: Mapping[str, int] = field(default_factory=dict)
    min_level: int | None = None  # a known level below this is LOW_CREDIT

    def record(self, buyer_id: str | None, phone: str | None) -> CreditRecord | None:
        listed = any(key in self.blacklist for key in (buyer_id, phone) if key)
        level = self.levels.get(buyer_id) if buyer_id else None
        if not listed and level is None:
            return None
        return CreditRecord(level=level, blacklisted=listed)


@dataclass(frozen=True, slots=True)
class HealthRules:
    modes: Mapping[str, Mode] = field(default_factory=dict)
    phone_region: str = "CN"
    accept_landline: bool = False
    credit: CreditTable = field(default_factory=CreditTable)
    carriers: tuple[CarrierRoute, ...] = ()  # empty: carrier match not checked
    sku_weight_g: Mapping[str, int] = field(default_factory=dict)
    custom: tuple[CustomRule, ...] = ()
    # made-to-order SKUs -> category, and the words that name each spec field in a remark
    # (``core.health.order_facts``): how orders from channels get custom facts
    custom_skus: Mapping[str, str] = field(default_factory=dict)
    spec_labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def mode(self, rule: str) -> Mode:
        """From the modes table; a custom rule carries its own; anything else is enforced."""
        if rule.startswith(CUSTOM_PREFIX):
            for custom in self.custom:
                if CUSTOM_PREFIX + custom.id == rule:
                    return custom.mode
        return self.modes.get(rule, Mode.ENFORCE)


DEFAULT_RULES = HealthRules()
