"""Rule hits: how often each rule found something, per Beijing day and mode.

A shadow rule never opens an anomaly; these counts are how it is watched on real traffic
before it is switched to enforce (``/metrics``, ``orderbot report anomalies``). Enforced hits
are counted too, so the two can be compared rule by rule.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from core.clock import SHANGHAI
from core.health.model import HealthReport


@dataclass(frozen=True, slots=True)
class RuleHits:
    day: date
    rule: str
    code: str
    mode: str
    hits: int

    def as_row(self) -> dict[str, object]:
        return {"day": self.day, "rule": self.rule, "code": self.code, "mode": self.mode,
                "hits": self.hits}


def tally_hits(reports: Iterable[HealthReport], *, at: datetime) -> list[RuleHits]:
    """One row per (rule, code, mode) found in ``reports`` (empty for healthy orders)."""
    day = at.astimezone(SHANGHAI).date()
    counts = Counter((f.rule, f.code.value, f.mode.value)
                     for report in reports for f in report.findings)
    return [RuleHits(day, rule, code, mode, n)
            for (rule, code, mode), n in sorted(counts.items())]
