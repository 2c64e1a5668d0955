"""Durable timers: a deadline with a kind (what to do) and a reference (to what).

A timer is stored in the same transaction as the change that sets it, and removed in the same
transaction as the effect of firing it: that is what makes it fire once in effect even when a
worker dies between claiming and finishing (the claim is a lease; another worker re-claims it,
and the removal it then finds already done tells it the effect happened). ``key`` is unique
and chosen by the setter, so setting the same deadline twice is one timer and cancelling needs
no lookup (``escalate:42:0``: anomaly 42, its escalation from level 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.clock import require_aware


class TimerKind(StrEnum):
    """What firing does; each kind has one handler (``handlers/timers.py`` registry)."""

    ESCALATE_ANOMALY = "anomaly.escalate"  # SLA missed: next role in the chain
    STALLED_SCAN = "orders.stalled_scan"  # periodic: open orders without a move for 48 h
    GATE_EXPIRE = "gate.expire"  # a gated proposal's decision deadline (gating handlers)
    TASK_OVERDUE = "task.overdue"  # a chat task's deadline passed: escalate (handlers/tasks)
    BENCH = "bench"  # benchmarks and tests only: records when it fired


@dataclass(frozen=True, slots=True)
class Timer:
    key: str
    kind: str
    ref: str
    due_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "due_at", require_aware(self.due_at, "Timer.due_at"))
        if not self.key or len(self.key) > 160:
            raise ValueError(f"timer key must be 1-160 characters: {self.key!r}")


def escalation_key(anomaly_id: int, level: int) -> str:
    return f"escalate:{anomaly_id}:{level}"


def escalation_timer(anomaly_id: int, level: int, due_at: datetime) -> Timer:
    """Fires when the holder at ``level`` has not touched the anomaly by ``due_at``."""
    return Timer(escalation_key(anomaly_id, level), TimerKind.ESCALATE_ANOMALY,
                 f"{anomaly_id}:{level}", due_at)


def parse_escalation_ref(ref: str) -> tuple[int, int]:
    anomaly_id, level = ref.split(":")
    return int(anomaly_id), int(level)


STALLED_SCAN_KEY = "stalled-scan"


def stalled_scan_timer(due_at: datetime) -> Timer:
    """The one periodic scan timer: each firing sets the next (key reused)."""
    return Timer(STALLED_SCAN_KEY, TimerKind.STALLED_SCAN, "-", due_at)
