"""Per channel and day (Asia/Shanghai): received, stored, duplicates, dead-lettered, late.

They feed the daily consistency report: every received order must be accounted for as stored,
a duplicate, or dead-lettered. "Late" is an order first seen more than ``LATE_AFTER`` after its
payment: a sign that a webhook was lost and polling caught it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from core.batch import BatchResult
from core.clock import SHANGHAI
from core.ingest import IngestKind

LATE_AFTER = timedelta(minutes=10)


@dataclass(slots=True)
class ChannelDay:
    day: date
    channel: str
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    late: int = 0

    def as_row(self) -> dict[str, object]:
        return {"day": self.day, "channel": self.channel, "received": self.received,
                "stored": self.stored, "duplicates": self.duplicates,
                "dead_lettered": self.dead_lettered, "late": self.late}


def tally(result: BatchResult, failed_channels: Iterable[str], *, at: datetime,
          repeats: Iterable[str] = ()) -> list[ChannelDay]:
    """Counters for one processed batch; ``failed_channels`` names one channel per payload
    that could not be parsed at all (it counts as received and dead-lettered). ``repeats``
    names the channel of each of those dead letters (failed or rejected) that was already
    kept from an earlier delivery of the same bytes: received again, so a duplicate, not a
    second dead letter (received = stored + duplicates + dead_lettered still holds)."""
    day = at.astimezone(SHANGHAI).date()
    rows: dict[str, ChannelDay] = defaultdict(lambda: ChannelDay(day, ""))

    def row(channel: str) -> ChannelDay:
        entry = rows[channel]
        entry.channel = channel
        return entry

    for arrival, kind in result.kinds:
        entry = row(arrival.order.channel)
        entry.received += 1
        if kind is IngestKind.UNCHANGED:
            entry.duplicates += 1
        else:
            entry.stored += 1
        paid = arrival.order.paid_at
        if kind is IngestKind.CREATED and paid is not None and at - paid > LATE_AFTER:
            entry.late += 1
    for rejected in result.rejected:
        entry = row(rejected.arrival.order.channel)
        entry.received += 1
        entry.dead_lettered += 1
    for channel in failed_channels:
        entry = row(channel)
        entry.received += 1
        entry.dead_lettered += 1
    for channel in repeats:
        entry = row(channel)
        entry.dead_lettered -= 1
        entry.duplicates += 1
    return sorted(rows.values(), key=lambda r: r.channel)
