"""Ports of the tracking and customer-query use cases, and what they are handed.

Concrete classes: ``storage/parcels.py``, ``storage/customers.py`` (the reader and the
bindings), ``storage/rate_limit.py``, ``integrations/logistics/failover.py``;
``bot/tracking.py`` wires them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, Protocol

from core.carriers import Carrier
from core.customer_query import OrderFacts
from core.tracking import Parcel, TraceLine, TrackReport
from handlers.chat_deps import ChatDeps
from handlers.ports import ChannelParcels, ChatUnitOfWork


class ParcelRepository(ChannelParcels, Protocol):
    """Ingestion's parcel port plus what tracking and the customer desk need."""

    async def register(self, parcel: Parcel, *, at: datetime) -> tuple[Parcel, bool]:
        """Insert, or return the stored parcel (bound to ``parcel.order_key`` when it had no
        order yet). True when it was created."""
        ...

    async def get(self, parcel_id: int, *, lock: bool = False) -> Parcel | None: ...

    async def find(self, tracking_no: str, carrier: str | None = None) -> list[Parcel]: ...

    async def for_order(self, order_key: str) -> list[Parcel]: ...

    async def lines(self, parcel_id: int) -> list[TraceLine]: ...

    async def add_lines(self, parcel_id: int, provider: str, lines: Sequence[TraceLine], *,
                        at: datetime) -> int:
        """Store the scans not stored yet; how many were new."""
        ...

    async def save(self, parcel: Parcel, *, at: datetime, next_poll_at: datetime | None = None,
                   subscribed: str | None = None) -> None: ...

    async def due(self, now: datetime, limit: int) -> list[Parcel]: ...

    async def silent(self, cutoff: datetime, limit: int) -> list[Parcel]: ...

    async def open_verification(self, parcel: Parcel, *, reason: str, at: datetime,
                                deadline: datetime) -> int: ...


class CustomerReader(Protocol):
    """The customer desk's reads: committed data, no transaction (asking writes nothing)."""

    async def find(self, refs: Sequence[str], phone: str | None) -> list[OrderFacts]:
        """Orders an order number (several channels may share one; ``channel:number`` names
        one), a tracking number or a full phone names, newest first."""
        ...

    async def bound(self, platform: str, sender_id: str, digests: Iterable[str]) -> set[str]:
        """Which of these phone digests the sender is bound to."""
        ...


class CustomerRepository(Protocol):
    async def bind(self, platform: str, sender_id: str, digest: str, *, via: str,
                   at: datetime) -> None:
        """Bind the sender to the phone (once; binding again changes nothing)."""
        ...


class TrackingUnitOfWork(ChatUnitOfWork, Protocol):
    @property
    def parcels(self) -> ParcelRepository: ...

    @property
    def customers(self) -> CustomerRepository: ...

    async def __aenter__(self) -> TrackingUnitOfWork: ...


class Providers(Protocol):
    """The tracking providers behind failover (raises ``TrackingUnavailableError``)."""

    async def query(self, carrier: Carrier, tracking_no: str, phone: str | None
                    ) -> TrackReport: ...

    async def subscribe(self, carrier: Carrier, tracking_no: str, phone: str | None,
                        callback_base: str) -> str | None: ...


class Limit(NamedTuple):
    """At most ``limit`` hits on ``key`` per fixed window of ``window_s`` seconds."""

    key: str
    limit: int
    window_s: int


class RateLimiter(Protocol):
    async def hit(self, limits: Sequence[Limit]) -> bool:
        """Count one hit on each limit in order, stopping at the first that is over (the
        later ones are not counted); False then. One round trip whatever the number."""
        ...


@dataclass(frozen=True)
class TrackingSettings:
    poll_interval_s: int = 4 * 3600  # a subscribed parcel is polled as a backup this often
    unsubscribed_poll_s: int = 2 * 3600
    fresh_s: int = 1800  # a customer query older than this asks the providers again
    verify_after_s: int = 4 * 3600  # deadline of an ops verification task
    callback_base: str = ""  # our public URL, for push subscriptions ("" = poll only)
    query_limit: int = 10  # customer queries per sender per minute
    proof_attempts: int = 20  # queries carrying a last-4 proof per sender per hour


@dataclass(frozen=True)
class TrackingDeps:
    new_uow: Callable[[], TrackingUnitOfWork]
    providers: Providers
    limiter: RateLimiter
    chat: ChatDeps
    reader: CustomerReader
    settings: TrackingSettings = field(default_factory=TrackingSettings)
