"""How an envelope is written down by the inbox backends: payload as JSON text, time as ISO.

The payload is stored as the exact text ``json.dumps`` produced (never as JSONB, which would
reorder keys), so what a consumer gets back equals what was put: unicode as is, big integers
kept exact, nested objects intact. Encoding at ``put`` also means a payload that is not JSON
fails where it is produced, in every backend alike (the in-process twin included).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.clock import require_aware


def dump_payload(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def load_payload(text: str | bytes) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"inbox payload is not a JSON object: {type(value).__name__}")
    return value


def dump_time(value: datetime) -> str:
    return require_aware(value, "received_at").isoformat()


def load_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
