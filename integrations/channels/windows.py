"""Polling windows: platforms cap how long a modified-time range one query may cover
(淘宝 a day, 拼多多 30 minutes), so a poll window is cut into slices no longer than the cap."""

from __future__ import annotations

from datetime import datetime, timedelta


def slices(start: datetime, end: datetime, longest: timedelta) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` as consecutive slices of at most ``longest`` (none when empty)."""
    cut, cursor = [], start
    while cursor < end:
        upper = min(cursor + longest, end)
        cut.append((cursor, upper))
        cursor = upper
    return cut
