"""Who gets an anomaly, by when, and who next: the routing table (class and code -> rule).

Every code has a rule: the owning role (whose card it is), the SLA (seconds a card may sit
untouched before escalation), the escalation chain (roles in order: after each missed SLA the
next role in the chain gets a new card) and whether the anomaly holds the order. Defaults
follow DESIGN (A: agent, 2 min -> supervisor; B: agent with the suggestion as a button; C:
frozen, to production or warehouse); ``[routing]`` in config overrides any part per class or
per code (a code rule wins over its class rule). Pure: config in, rules out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from core.anomalies import CODE_CLASS, AnomalyClass, AnomalyCode
from core.people import Role

C = AnomalyCode


@dataclass(frozen=True, slots=True)
class RouteRule:
    """Routing of one code. ``sla_s`` 0 means no escalation timer."""

    owner: Role
    sla_s: float
    chain: tuple[Role, ...]
    blocking: bool

    def role_at(self, level: int) -> Role:
        """Who holds the anomaly after ``level`` escalations (0: the owner)."""
        return self.owner if level == 0 else self.chain[level - 1]

    def next_role(self, level: int) -> Role | None:
        """Who gets it at the next escalation, or None at the end of the chain."""
        return self.chain[level] if level < len(self.chain) else None

    def deadline(self, since: datetime, level: int) -> datetime | None:
        """When the holder at ``level`` (who got the card at ``since``) has missed the SLA:
        None when there is no SLA or nobody left to escalate to."""
        if self.sla_s <= 0 or self.next_role(level) is None:
            return None
        return since + timedelta(seconds=self.sla_s)


CLASS_DEFAULTS: Mapping[AnomalyClass, RouteRule] = {
    AnomalyClass.A: RouteRule(Role.AGENT, 120.0, (Role.SUPERVISOR,), blocking=True),
    AnomalyClass.B: RouteRule(Role.AGENT, 1800.0, (Role.SUPERVISOR,), blocking=True),
    AnomalyClass.C: RouteRule(Role.WAREHOUSE, 4 * 3600.0, (Role.SUPERVISOR,), blocking=True),
}

# Where a code differs from its class: who actually decides it.
CODE_DEFAULTS: Mapping[AnomalyCode, Mapping[str, object]] = {
    C.LOW_CREDIT: {"owner": Role.FINANCE, "chain": (Role.SUPERVISOR,)},
    C.PRICE_MISMATCH: {"blocking": False},
    # The invoice is issued after the sale: fix its data before invoicing, not before shipping
    # (淘宝 and 拼多多 orders carry no tax id at all; holding them all would stop a shop).
    C.TAX_ID_INVALID: {"blocking": False},
    C.INVOICE_TITLE_MISSING: {"blocking": False},
    C.CUSTOM_SPEC_CONFLICT: {"owner": Role.PRODUCTION},
    C.CUSTOMS_REJECTED: {"owner": Role.WAREHOUSE},
    C.PRESALE_BALANCE_STUCK: {"owner": Role.FINANCE},
    C.ORDER_STALLED: {"owner": Role.WAREHOUSE},
}

_FIELDS = ("owner", "sla_s", "chain", "blocking")


class RoutingError(ValueError):
    """A routing override names an unknown class, code, field or role."""


@dataclass(frozen=True, slots=True)
class RoutingTable:
    rules: Mapping[AnomalyCode, RouteRule]
    stalled_after_s: float = 48 * 3600.0

    def rule(self, code: AnomalyCode) -> RouteRule:
        return self.rules[code]


def default_table() -> RoutingTable:
    return build_table({})


def build_table(overrides: Mapping[str, Mapping[str, object]], *,
                stalled_after_s: float = 48 * 3600.0) -> RoutingTable:
    """Defaults, then class overrides (``"A"``), then code overrides (``"ADDRESS_MISSING"``).

    A value is a mapping with any of ``owner`` (role name), ``sla_s`` (seconds), ``chain``
    (role names) and ``blocking``. Raises ``RoutingError`` naming what is wrong."""
    for name in overrides:
        if name not in AnomalyClass.__members__ and name not in AnomalyCode.__members__:
            raise RoutingError(f"unknown anomaly class or code {name!r}")
    rules: dict[AnomalyCode, RouteRule] = {}
    for code, klass in CODE_CLASS.items():
        rule = _apply(CLASS_DEFAULTS[klass], CODE_DEFAULTS.get(code, {}), code.value)
        rule = _apply(rule, overrides.get(klass.value, {}), klass.value)
        rules[code] = _apply(rule, overrides.get(code.value, {}), code.value)
    if stalled_after_s <= 0:
        raise RoutingError(f"stalled_after_s must be > 0, got {stalled_after_s!r}")
    return RoutingTable(rules, stalled_after_s)


def _apply(rule: RouteRule, values: Mapping[str, object], where: str) -> RouteRule:
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise RoutingError(f"{where}: unknown field {unknown[0]!r} (known: {', '.join(_FIELDS)})")
    changes: dict[str, object] = {}
    if "owner" in values:
        changes["owner"] = _role(values["owner"], where)
    if "chain" in values:
        chain = values["chain"]
        if not isinstance(chain, list | tuple):
            raise RoutingError(f"{where}: chain must be a list of roles, got {chain!r}")
        changes["chain"] = tuple(_role(name, where) for name in chain)
    if "sla_s" in values:
        sla = values["sla_s"]
        if isinstance(sla, bool) or not isinstance(sla, int | float) or sla < 0:
            raise RoutingError(f"{where}: sla_s must be seconds >= 0, got {sla!r}")
        changes["sla_s"] = float(sla)
    if "blocking" in values:
        if not isinstance(values["blocking"], bool):
            raise RoutingError(f"{where}: blocking must be true or false")
        changes["blocking"] = values["blocking"]
    return replace(rule, **changes)  # type: ignore[arg-type]


def _role(value: object, where: str) -> Role:
    if isinstance(value, Role):
        return value
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise RoutingError(f"{where}: unknown role {value!r} (known: {known})") from None
