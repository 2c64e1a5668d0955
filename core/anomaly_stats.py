"""Anomaly figures for ``/metrics`` and reports: self-healing rate, time to first action,
escalations, what is open. Pure arithmetic over counts storage aggregates.

Self-healing rate = anomalies closed automatically or by one tap on the suggestion / all
closed anomalies (DESIGN). Mean time to first action = mean of (first tap - opened) over the
anomalies someone acted on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.anomalies import SELF_HEALING, Resolution
from core.clock import to_iso


@dataclass(frozen=True, slots=True)
class AnomalyStats:
    since: datetime | None
    opened: int = 0
    open_by_code: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (class, code)
    closed_by: Mapping[str, int] = field(default_factory=dict)  # resolution -> count
    escalations: int = 0
    acted: int = 0  # anomalies with a first action
    first_action_s_total: float = 0.0
    opened_by_code: Mapping[tuple[str, str], int] = field(default_factory=dict)  # in window
    # health findings per (rule, code, mode), enforced and shadow (shadow ones open nothing)
    rule_hits: Mapping[tuple[str, str, str], int] = field(default_factory=dict)

    @property
    def closed(self) -> int:
        return sum(self.closed_by.values())

    @property
    def self_healed(self) -> int:
        return sum(n for how, n in self.closed_by.items() if how in SELF_HEALING)

    @property
    def self_healing_rate(self) -> float | None:
        """None before anything was closed (a rate of 0 would be a lie)."""
        return self.self_healed / self.closed if self.closed else None

    @property
    def mean_first_action_s(self) -> float | None:
        return self.first_action_s_total / self.acted if self.acted else None

    def report(self) -> dict[str, Any]:
        """The figures as JSON (``orderbot report anomalies``)."""
        rate = self.self_healing_rate
        mean = self.mean_first_action_s
        return {
            "since": to_iso(self.since) if self.since else None,
            "opened": self.opened, "closed": self.closed,
            "closed_by": {how.value: self.closed_by.get(how.value, 0) for how in Resolution},
            "self_healing_rate": None if rate is None else round(rate, 4),
            "mean_time_to_first_action_s": None if mean is None else round(mean, 1),
            "escalations": self.escalations,
            "open": [{"class": k, "code": c, "count": n}
                     for (k, c), n in sorted(self.open_by_code.items())],
            "opened_by_code": [{"class": k, "code": c, "count": n}
                               for (k, c), n in sorted(self.opened_by_code.items())],
            "rule_hits": [{"rule": r, "code": c, "mode": m, "hits": n}
                          for (r, c, m), n in sorted(self.rule_hits.items())],
        }  # fmt: skip
