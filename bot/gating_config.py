"""``[gating]``: who may propose and decide each gated action, and by when.

Kept free of other ``bot`` imports so that ``bot.config`` can import it. One flat section
(``cancel_deciders``, ``cancel_deadline_min``, ...) because the config reader documents and
overrides ``[section] key`` pairs; ``policies()`` turns it into ``core.gating`` policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from core.gating import GateKind, GatePolicy
from core.people import Role, UnknownRoleError, parse_roles


@dataclass(frozen=True)
class GatingConfig:
    proposers: tuple[str, ...] = ("agent", "supervisor")  # the system may always propose
    cancel_deciders: tuple[str, ...] = ("supervisor",)
    cancel_deadline_min: float = 30.0
    refund_deciders: tuple[str, ...] = ("supervisor",)
    refund_deadline_min: float = 120.0
    refund_handwork_role: str = "finance"
    merge_deciders: tuple[str, ...] = ("supervisor",)
    merge_deadline_min: float = 60.0
    change_address_deciders: tuple[str, ...] = ("supervisor",)
    change_address_deadline_min: float = 30.0
    release_deciders: tuple[str, ...] = ("supervisor",)
    release_deadline_min: float = 60.0
    delist_deciders: tuple[str, ...] = ("supervisor",)
    delist_deadline_min: float = 240.0
    delist_handwork_role: str = "ops"

    def check(self) -> None:
        from bot.config import ConfigError  # here, not at the top: bot.config imports us

        try:
            self.policies()
        except (UnknownRoleError, ValueError) as error:
            raise ConfigError(f"config: [gating] {error}") from None

    def policies(self) -> Mapping[GateKind, GatePolicy]:
        """One policy per kind; raises ValueError naming the key that is wrong."""
        proposers = parse_roles(self.proposers)
        return {kind: self._policy(kind, proposers) for kind in GateKind}

    def _policy(self, kind: GateKind, proposers: frozenset[Role]) -> GatePolicy:
        deciders = parse_roles(getattr(self, f"{kind.value}_deciders"))
        minutes = float(getattr(self, f"{kind.value}_deadline_min"))
        if not deciders:
            raise ValueError(f"{kind.value}_deciders: expected at least one role")
        if minutes <= 0:
            raise ValueError(f"{kind.value}_deadline_min: expected > 0, got {minutes!r}")
        handwork = getattr(self, f"{kind.value}_handwork_role", "")
        return GatePolicy(deciders=deciders, proposers=proposers,
                          deadline=timedelta(minutes=minutes),
                          handwork_role=min(parse_roles([handwork])) if handwork else None)
