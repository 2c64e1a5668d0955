"""Config ``[health]``: the order health rules, their modes and tables.

Example::

    [health]
    modes = { "phone.invalid" = "shadow", "credit.level" = "off" }
    blacklist = ["buyer-123", "13800000000"]        # buyer ids or receiver phones
    credit_levels = { "buyer-9" = 1 }
    min_credit_level = 2
    sku_weight_g = { "SOFA-3" = 45000 }

    [[health.carriers]]
    carriers = ["顺丰"]
    max_weight_kg = 50
    fastest_hours = 24

    [[health.custom]]
    id = "sofa_floor_plan"
    category = "sofa"
    when = "depth_cm < 45"
    attachments = ["floor_plan"]

Kept free of other ``bot`` imports so that ``bot.config`` can import it. ``check`` (called by
``load_config``) builds the core rules once, so a bad rule stops start-up with a one-line
message naming the key, and ``rules()`` cannot fail afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from core.divisions import CITY, PROVINCE, division_index
from core.health import (
    DEFAULT_SPEC_LABELS,
    RULE_IDS,
    CarrierRoute,
    Condition,
    CreditTable,
    CustomRule,
    HealthRules,
    Mode,
    RuleError,
)

_MODES = ", ".join(m.value for m in Mode)


@dataclass(frozen=True)
class CarrierRowConfig:
    """``[[health.carriers]]``: where, how heavy, how fast -> which carriers."""

    carriers: tuple[str, ...] = ()
    provinces: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    max_weight_kg: float | None = None
    fastest_hours: float | None = None


@dataclass(frozen=True)
class CustomRuleConfig:
    """``[[health.custom]]``: a completeness rule for one category of made-to-order lines."""

    id: str = ""
    category: str = ""
    when: str = ""
    attachments: tuple[str, ...] = ()
    fields: tuple[str, ...] = ()
    mode: str = "enforce"
    message: str = ""
    conflict: bool = False  # the spec cannot be made: CUSTOM_SPEC_CONFLICT (C) when ``when``


@dataclass(frozen=True)
class HealthConfig:
    modes: dict[str, str] = field(default_factory=dict)
    phone_region: str = "CN"
    accept_landline: bool = False
    blacklist: tuple[str, ...] = ()
    credit_levels: dict[str, int] = field(default_factory=dict)
    min_credit_level: int | None = None
    sku_weight_g: dict[str, int] = field(default_factory=dict)
    carriers: tuple[CarrierRowConfig, ...] = ()
    custom: tuple[CustomRuleConfig, ...] = ()
    custom_skus: dict[str, str] = field(default_factory=dict)  # made-to-order SKU -> category
    spec_labels: dict[str, tuple[str, ...]] = field(default_factory=dict)  # field -> words
    stock: bool = True  # judge stock from the stock_levels table (orderbot stock load)

    def check(self) -> None:
        """Raise ``ConfigError`` naming the first wrong key (called by ``load_config``)."""
        self.rules()

    def rules(self) -> HealthRules:
        return self._rules

    @cached_property
    def _rules(self) -> HealthRules:
        from bot.config import ConfigError  # here, not at the top: bot.config imports us

        try:
            return HealthRules(
                modes=_modes(self.modes),
                phone_region=_region(self.phone_region),
                accept_landline=self.accept_landline,
                credit=CreditTable(frozenset(self.blacklist),
                                   _counts(self.credit_levels, "credit_levels", 0),
                                   self.min_credit_level),
                carriers=tuple(_route(row, f"carriers[{i}]") for i, row in
                               enumerate(self.carriers)),
                sku_weight_g=_counts(self.sku_weight_g, "sku_weight_g", 1),
                custom=_customs(self.custom),
                custom_skus=_categories(self.custom_skus),
                spec_labels={**DEFAULT_SPEC_LABELS, **_labels(self.spec_labels)},
            )
        except _KeyError as error:
            raise ConfigError(f"config: [health] {error.key}: {error.problem}") from None


class _KeyError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key, self.problem = key, problem


def _mode(value: object, key: str) -> Mode:
    try:
        return Mode(str(value))
    except ValueError:
        raise _KeyError(key, f"expected one of {_MODES}, got {value!r}") from None


def _modes(raw: Mapping[str, object]) -> dict[str, Mode]:
    for rule in raw:
        if rule not in RULE_IDS:
            raise _KeyError(f"modes.{rule}", f"unknown rule (known: {', '.join(RULE_IDS)}; "
                                             f"custom rules carry their own mode)")
    return {rule: _mode(value, f"modes.{rule}") for rule, value in raw.items()}


def _region(value: str) -> str:
    import phonenumbers

    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise _KeyError("phone_region", f"expected a region code such as 'CN', got {value!r}")
    return value


def _counts(raw: Mapping[str, object], key: str, minimum: int) -> dict[str, int]:
    for name, value in raw.items():
        if type(value) is not int or value < minimum:
            raise _KeyError(f"{key}.{name}", f"expected an integer >= {minimum}, got {value!r}")
    return dict(raw)  # type: ignore[arg-type]


def _divisions(names: Iterable[str], level: int, key: str) -> frozenset[str]:
    """Full official names; a short one (浙江, 杭州) is accepted and expanded, a typo is not."""
    index = division_index()
    out: set[str] = set()
    for name in names:
        codes = index.full[level].get(name) or index.short[level].get(name)
        if not codes:
            raise _KeyError(key, f"unknown {'province' if level == PROVINCE else 'city'} "
                                 f"{name!r}")
        out |= {index.by_code[code].name for code in codes}
    return frozenset(out)


def _route(row: CarrierRowConfig, where: str) -> CarrierRoute:
    if not row.carriers:
        raise _KeyError(f"{where}.carriers", "expected at least one carrier name")
    for key, value in (("max_weight_kg", row.max_weight_kg),
                       ("fastest_hours", row.fastest_hours)):
        if value is not None and value <= 0:
            raise _KeyError(f"{where}.{key}", f"expected a number > 0, got {value!r}")
    weight = None if row.max_weight_kg is None else round(row.max_weight_kg * 1000)
    return CarrierRoute(tuple(row.carriers), _divisions(row.provinces, PROVINCE,
                                                        f"{where}.provinces"),
                        _divisions(row.cities, CITY, f"{where}.cities"), weight,
                        row.fastest_hours)


def _customs(rows: tuple[CustomRuleConfig, ...]) -> tuple[CustomRule, ...]:
    seen: set[str] = set()
    rules = []
    for index, row in enumerate(rows):
        where = f"custom[{index}]"
        for key in ("id", "category"):
            if not getattr(row, key).strip():
                raise _KeyError(f"{where}.{key}", "expected a non-empty string")
        if row.id in seen:
            raise _KeyError(f"{where}.id", f"duplicate rule id {row.id!r}")
        seen.add(row.id)
        if row.conflict and not row.when.strip():
            raise _KeyError(f"{where}.when", "a conflict rule needs the condition it forbids")
        if not row.conflict and not (row.attachments or row.fields):
            raise _KeyError(where, "expected attachments or fields that the category needs")
        try:
            when = Condition.parse(row.when) if row.when.strip() else None
        except RuleError as error:
            raise _KeyError(f"{where}.when", str(error)) from None
        rules.append(CustomRule(row.id, row.category, when, tuple(row.attachments),
                                tuple(row.fields), _mode(row.mode, f"{where}.mode"),
                                row.message, row.conflict))
    return tuple(rules)


def _categories(raw: Mapping[str, object]) -> dict[str, str]:
    for sku, category in raw.items():
        if not isinstance(category, str) or not category.strip():
            raise _KeyError(f"custom_skus.{sku}", f"expected a category name, got {category!r}")
    return dict(raw)  # type: ignore[arg-type]


def _labels(raw: Mapping[str, object]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for name, words in raw.items():
        if isinstance(words, str) or not isinstance(words, list | tuple) or not words or \
                not all(isinstance(w, str) and w.strip() for w in words):
            raise _KeyError(f"spec_labels.{name}", f"expected a list of words, got {words!r}")
        out[name] = tuple(words)
    return out
