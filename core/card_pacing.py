"""Pacing of unasked cards to one audience: a few one by one per window, then one digest.

A channel that changes its payload format turns into hundreds of dead letters in minutes. The
ops lead wants to hear about the first few at once (each is actionable: what failed and why),
then *one* summary of the rest, not 500 cards: WeCom silently drops more than 30 messages a
minute to one member, and a phone that buzzes 500 times gets muted. So per fixed window
(``window_s``, aligned to the epoch, shared by every worker through storage) the first
``limit`` items each get a card, the last of those says the rest will be summed up, and when
the window closes a digest card counts what was held back, per source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from core.clock import require_aware


@dataclass(frozen=True, slots=True)
class Pacing:
    limit: int = 5  # cards one by one per window (0: digests only)
    window_s: int = 600

    def __post_init__(self) -> None:
        if self.limit < 0 or self.window_s <= 0:
            raise ValueError(f"pacing: limit >= 0 and window_s > 0, got {self}")

    def window_of(self, at: datetime) -> datetime:
        """Start of the window ``at`` falls in (UTC, epoch-aligned: the same for everyone)."""
        seconds = require_aware(at, "at").timestamp()
        return datetime.fromtimestamp(seconds - seconds % self.window_s, UTC)

    def window_end(self, start: datetime) -> datetime:
        return start + timedelta(seconds=self.window_s)

    def one_by_one(self, count_after: int, n: int) -> int:
        """Of ``n`` items just counted (the window now holds ``count_after``), how many get a
        card of their own: the first ones, up to ``limit`` per window."""
        before = count_after - n
        return max(0, min(n, self.limit - before))

    def is_last_single(self, position: int) -> bool:
        """True for the window's ``limit``-th item (1-based): its card says more will be
        summed up rather than sent one by one."""
        return position == self.limit


@dataclass(frozen=True, slots=True)
class SourceCount:
    """Items of one source in a window, with the latest one's id and reason (for a digest)."""

    source: str
    count: int
    last_id: int
    last_reason: str
