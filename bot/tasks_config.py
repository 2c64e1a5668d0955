"""``[tasks]``: which role owns each kind of chat task, its deadline, and who gets it when it
is escalated (by a tap, or because the deadline passed).

Kept free of other ``bot`` imports so that ``bot.config`` can import it. One flat section
(``urgent_owner``, ``urgent_deadline_min``, ...) like ``[gating]``: the config reader documents
and overrides ``[section] key`` pairs; ``settings()`` turns it into ``core.tasks.TaskSettings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from core.people import Role, UnknownRoleError, parse_roles
from core.tasks import KindPolicy, TaskKind, TaskSettings

CHAT_KINDS = (TaskKind.URGENT, TaskKind.ADD_ITEM, TaskKind.INVOICE, TaskKind.COMPLAINT)


@dataclass(frozen=True)
class TasksConfig:
    urgent_owner: str = "warehouse"
    urgent_deadline_min: float = 120.0
    add_item_owner: str = "warehouse"
    add_item_deadline_min: float = 240.0
    invoice_owner: str = "finance"
    invoice_deadline_min: float = 1440.0
    complaint_owner: str = "supervisor"
    complaint_deadline_min: float = 60.0
    escalate_to: str = "supervisor"

    def check(self) -> None:
        from bot.config import ConfigError  # here, not at the top: bot.config imports us

        try:
            self.settings()
        except (UnknownRoleError, ValueError) as error:
            raise ConfigError(f"config: [tasks] {error}") from None

    def settings(self) -> TaskSettings:
        """Raises ValueError naming the key that is wrong."""
        kinds = {kind: self._policy(kind) for kind in CHAT_KINDS}
        return TaskSettings(kinds=kinds, escalate_to=_one_role("escalate_to", self.escalate_to))

    def _policy(self, kind: TaskKind) -> KindPolicy:
        owner = _one_role(f"{kind.value}_owner", getattr(self, f"{kind.value}_owner"))
        minutes = float(getattr(self, f"{kind.value}_deadline_min"))
        if minutes <= 0:
            raise ValueError(f"{kind.value}_deadline_min: expected > 0, got {minutes!r}")
        return KindPolicy(owner, timedelta(minutes=minutes))


def _one_role(key: str, name: str) -> Role:
    roles = parse_roles([name]) if name.strip() else frozenset()
    if len(roles) != 1:
        raise ValueError(f"{key}: expected one role, got {name!r}")
    return next(iter(roles))
