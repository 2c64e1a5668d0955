"""What every tracking provider offers, and how it fails.

A provider that is down (transport error, timeout, 5xx) raises ``UpstreamError``
(``integrations.http``); one that answers but refuses (bad signature, no data, quota) raises
``ProviderRefusedError``. Either way the failover chain asks the next provider. A push whose
signature does not verify raises ``PushRejectedError`` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.carriers import Carrier
from core.clock import SHANGHAI
from core.tracking import TrackReport


class ProviderRefusedError(Exception):
    """The provider answered, but without a trace (its own error code and message)."""


class PushRejectedError(ValueError):
    """A push that is not from the provider (signature mismatch) or not in its shape."""


@dataclass(frozen=True, slots=True)
class PushAnswer:
    """What the provider expects back from our callback endpoint."""

    status: int
    body: Mapping[str, Any]


class TrackingProvider(Protocol):
    name: str

    async def query(self, carrier: Carrier, tracking_no: str, phone: str | None
                    ) -> TrackReport: ...

    async def subscribe(self, carrier: Carrier, tracking_no: str, phone: str | None,
                        callback_url: str) -> None: ...

    def read_push(self, form: Mapping[str, str]) -> list[TrackReport]: ...

    def push_answer(self, error: str | None, now: datetime) -> PushAnswer: ...


def beijing_text(value: datetime) -> str:
    """"2026-11-25 10:00:00" Beijing time, the form both providers use."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def last4(phone: str | None) -> str:
    digits = "".join(c for c in phone or "" if c.isdigit())
    return digits[-4:] if len(digits) >= 4 else ""
