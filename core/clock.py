"""Time helpers: storage is aware UTC, people read Asia/Shanghai. ``now`` is always a parameter."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def require_aware(value: datetime, field: str) -> datetime:
    """Return ``value`` in UTC; a naive datetime is a bug in the caller, so it raises."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: naive datetime {value.isoformat()} (a timezone is required)")
    return value.astimezone(UTC)


def parse_iso(text: str, field: str) -> datetime:
    """ISO-8601 with an offset -> aware UTC datetime."""
    try:
        value = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: not an ISO-8601 time: {text!r}") from None
    return require_aware(value, field)


def parse_shanghai(text: str, field: str) -> datetime:
    """"2026-01-02 10:00:00" as channels send it (Beijing time, no offset) -> aware UTC."""
    # The shape is checked by hand, then parsed by the C ``fromisoformat`` (strptime costs 10x).
    stripped = text.strip() if isinstance(text, str) else ""
    shape_ok = (len(stripped) == 19 and stripped[4] == stripped[7] == "-"
                and stripped[10] == " " and stripped[13] == stripped[16] == ":")
    try:
        if not shape_ok:
            raise ValueError
        value = datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{field}: not a 'YYYY-MM-DD HH:MM:SS' time: {text!r}") from None
    return value.replace(tzinfo=SHANGHAI).astimezone(UTC)


def from_unix(seconds: int | float | str, field: str) -> datetime:
    """Unix seconds (int, float or digit string) -> aware UTC."""
    try:
        return datetime.fromtimestamp(float(seconds), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ValueError(f"{field}: not unix seconds: {seconds!r}") from None


def to_iso(value: datetime) -> str:
    """Aware datetime -> ISO-8601 in UTC with offset (the canonical JSON form)."""
    return value.astimezone(UTC).isoformat()


def shanghai_text(value: datetime) -> str:
    """For people: "2026-01-02 10:00" Beijing time."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
