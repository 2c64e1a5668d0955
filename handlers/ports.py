"""Ports: the Protocols use cases depend on. Concrete classes live in storage/, integrations/
and bot/, and only ``bot/app.py`` picks them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol

from core.anomalies import Anomaly, AnomalyCode, Resolution
from core.batch import BatchOutcome
from core.card_pacing import SourceCount
from core.cards import CardKind, CardRecord
from core.counters import ChannelDay
from core.events import OrderEvent
from core.gating import Accuracy, GateKind, GateState, Proposal
from core.health.hits import RuleHits
from core.inbox import Envelope as Envelope
from core.ingest import StoredOrder
from core.order import Order
from core.outbox import OutboxItem, Outgoing, Sent
from core.payloads import RawPayload
from core.prompts import Prompt
from core.tasks import Task, TaskKind
from core.timers import Timer
from core.tracking import Parcel


class Inbox(Protocol):
    """Durable inbound queue: Redis Streams in production, in-process in embedded mode."""

    async def put(self, envelope: Envelope) -> bool:
        """Queue ``envelope`` unless its ``dedup_key`` was seen; True when it was queued.

        Returns only once the envelope is durable (safe to acknowledge the platform)."""
        ...


class InboxConsumer(Protocol):
    """The worker side of the inbox: take new work, ack it, and reclaim what a dead worker
    left behind. Delivery is at least once, so handlers must be idempotent; retries come from
    this pending list, never from the platform."""

    async def take(self, consumer: str, count: int, block_ms: int) -> list[Envelope]:
        """Up to ``count`` never-delivered envelopes, oldest first, now pending on ``consumer``
        (``attempts`` 1). Waits up to ``block_ms`` when none is ready; 0 returns at once."""
        ...

    async def ack(self, envelopes: Sequence[Envelope]) -> None:
        """Done with these (matched by ``id``): they leave the queue for good. Acking twice or
        acking an envelope another consumer reclaimed meanwhile is harmless."""
        ...

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[Envelope]:
        """Up to ``count`` envelopes taken (by anyone) at least ``min_idle_ms`` ago and never
        acked: a dead or stuck worker's. They move to ``consumer`` with ``attempts`` + 1."""
        ...

    async def pending_count(self) -> int:
        """Taken but not yet acked (metric: work in flight)."""
        ...

    async def size(self) -> int:
        """Everything not yet acked, new and pending (metric: backlog)."""
        ...


class OrderRepository(Protocol):
    async def load_many(self, keys: Iterable[str], *, lock: bool = True) -> dict[str, StoredOrder]:
        ...

    async def get(self, key: str) -> StoredOrder | None: ...

    async def save_batch(self, outcomes: Sequence[BatchOutcome], *, at: datetime
                         ) -> list[Anomaly]:
        """Write the batch; the anomalies it opened, as stored (with their ids)."""
        ...

    async def duplicate_candidates(self, orders: Iterable[Order]) -> list[Order]:
        """Stored orders that may be twins of ``orders``. Serialised per (phone, goods) group
        until the transaction ends, so call it before writing anything in the transaction."""
        ...

    async def save_change(
        self, stored: StoredOrder, order: Order, events: Sequence[OrderEvent], *, at: datetime
    ) -> None: ...

    async def events(self, key: str) -> list[OrderEvent]: ...

    async def find(self, ref: str) -> list[str]: ...


class DeadLetters(Protocol):
    async def add(
        self, *, source: str, reason: str, raw: bytes, received_at: datetime,
        content_type: str | None = None, meta: Mapping[str, object] | None = None,
    ) -> int | None:
        """The new letter's id; None when these bytes from this source are already kept (a
        redelivery): the caller counts it as a duplicate and announces nothing."""
        ...

    async def by_source(self, *, since: datetime, until: datetime) -> list[SourceCount]: ...


class Snapshots(Protocol):
    async def keep(self, payloads: Sequence[RawPayload], *, at: datetime) -> None: ...


class ChannelParser(Protocol):
    """Channel adapters behind one call: a raw payload -> canonical orders (fetching full
    orders when a push only names them). Raises on a payload that is not in the platform's
    documented shape; the message says why."""

    async def parse(self, payload: RawPayload) -> list[Order]: ...


class Counters(Protocol):
    async def add(self, rows: Sequence[ChannelDay]) -> None: ...


class ChannelParcels(Protocol):
    """Where ingestion puts the waybills a channel reported (``storage/parcels.py``)."""

    async def register_bound(self, parcels: Sequence[Parcel], *, at: datetime) -> int:
        """Register parcels of orders stored in this transaction; a number already stored
        adds nothing (bound to the order when it had none). How many were new."""
        ...

    async def bind_waiting(self, order_keys: Sequence[str]) -> int:
        """Give parcels registered with these order keys before the orders existed (a WMS
        label ahead of the channel's push) the orders' row ids. How many were bound."""
        ...


class UnitOfWork(Protocol):
    """One transaction. ``async with uow:``; leaving without ``commit()`` rolls back."""

    @property
    def orders(self) -> OrderRepository: ...

    @property
    def dead_letters(self) -> DeadLetters: ...

    @property
    def snapshots(self) -> Snapshots: ...

    @property
    def counters(self) -> Counters: ...

    @property
    def parcels(self) -> ChannelParcels: ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None: ...


# --- chat: outbox, cards, anomalies (issue 4) ---------------------------------------------

class OutboxRepository(Protocol):
    """Messages to deliver, written in the same transaction as the change behind them."""

    async def add(self, messages: Sequence[Outgoing], *, at: datetime) -> list[int]: ...

    async def claim(self, *, now: datetime, lease_s: float, limit: int,
                    skip_platforms: Sequence[str] = ()) -> list[OutboxItem]:
        """Due heads of conversations (one per conversation), leased until now + lease_s;
        rows of ``skip_platforms`` are left for another process."""
        ...

    async def mark_sent(self, sent: Sequence[Sent]) -> None:
        """A round's deliveries, recorded together (one statement, not one per row)."""
        ...

    async def mark_failed(self, item: OutboxItem, *, error: str,
                          next_attempt_at: datetime | None) -> None: ...

    async def holders(self, card_id: str) -> list[tuple[str, str]]:
        """(platform, conversation) of everyone a card was sent to."""
        ...

    async def delivery_ref(self, card_id: str, platform: str, conversation: str
                           ) -> str | None: ...

    async def recent(self, platform: str, conversation: str, limit: int = 100
                     ) -> list[OutboxItem]:
        """The conversation's latest delivered rows, oldest first (web chat history)."""
        ...


class CardRepository(Protocol):
    async def add(self, record: CardRecord, *, at: datetime) -> None: ...

    async def get(self, card_id: str) -> CardRecord | None: ...

    async def replace(self, record: CardRecord, *, expected_version: int, at: datetime
                      ) -> bool:
        """Compare-and-set on the version: False when someone else changed the card first."""
        ...

    async def for_ref(self, kind: CardKind, ref: str, order_key: str) -> list[CardRecord]:
        """Every card of ``kind`` about ``ref`` (e.g. an anomaly id), oldest first."""
        ...


class AnomalyRepository(Protocol):
    async def get(self, anomaly_id: int) -> Anomaly | None: ...

    async def for_order(self, key: str) -> list[Anomaly]: ...

    async def add(self, anomaly: Anomaly) -> int:
        """Store a new anomaly on its stored order; its id."""
        ...

    async def resolve(self, anomaly_id: int, *, at: datetime, by: str,
                      how: Resolution = Resolution.MANUAL) -> bool:
        """Close it if open (False: it was not open: someone closed it first)."""
        ...

    async def escalate(self, anomaly_id: int, *, from_level: int) -> bool:
        """Level + 1 if still open, untouched and at ``from_level`` (one winner)."""
        ...

    async def touch(self, anomaly_id: int, *, at: datetime) -> bool:
        """Record the first action (True only the first time)."""
        ...

    async def stalled_orders(self, *, before: datetime, states: Sequence[str],
                             limit: int) -> list[str]:
        """Keys of orders in ``states`` whose state has not moved and whose parcels have no
        carrier scan since ``before``, and that have no open ORDER_STALLED anomaly."""
        ...


# --- SLA timers (issue 5) -------------------------------------------------------------------

class TimerRepository(Protocol):
    """Timers inside a unit of work: set with the change that needs them, taken (removed) with
    the effect of firing them, so each fires once in effect."""

    async def set(self, timers: Sequence[Timer], *, at: datetime) -> None: ...

    async def cancel(self, keys: Sequence[str]) -> None: ...

    async def take(self, key: str, *, now: datetime) -> Timer | None:
        """Remove a due timer; None when it was cancelled, fired or moved later."""
        ...

    async def take_many(self, keys: Sequence[str], *, now: datetime) -> list[Timer]:
        """``take`` for a batch, in ``keys`` order (only those still there and due)."""
        ...

    async def failed(self, key: str) -> int:
        """Count a handler error; the failures so far (0 when the timer is gone)."""
        ...

    async def get(self, key: str) -> Timer | None: ...


class TimerQueue(Protocol):
    """Hands due timers to workers: a Redis sorted set in production, the SQL table embedded.
    A claim is a lease: a worker that dies before ``done`` loses it and the timer is handed
    out again (re-fired, never lost)."""

    async def claim(self, *, now: datetime, limit: int, lease_s: float) -> list[Timer]: ...

    async def next_due(self) -> datetime | None:
        """The next moment something may be claimable (None: nothing pending)."""
        ...

    async def done(self, keys: Sequence[str]) -> None: ...

    async def relay(self, *, now: datetime) -> int:
        """Copy newly set timers from the durable record into the queue (Redis); 0 for SQL."""
        ...


class PromptRepository(Protocol):
    """Questions the bot asked in a conversation after a tap ("请回复收货地址")."""

    async def put(self, prompt: Prompt) -> None: ...

    async def pop(self, platform: str, conversation: str, *, now: datetime
                  ) -> Prompt | None: ...


class CardWindows(Protocol):
    """Cards of one kind counted per pacing window, shared by every process
    (``core.card_pacing``)."""

    async def hit(self, kind: str, window_start: datetime, n: int) -> int:
        """Count ``n`` more; the window's count afterwards (atomic)."""
        ...

    async def over_limit(self, kind: str, *, limit: int, started_before: datetime
                         ) -> list[tuple[datetime, int]]: ...

    async def mark_digested(self, kind: str, window_start: datetime, *, at: datetime
                            ) -> bool: ...

    async def prune(self, *, before: datetime) -> None: ...


class GateRepository(Protocol):
    """Gated-action proposals (``core.gating``)."""

    async def add(self, proposal: Proposal) -> int: ...

    async def get(self, proposal_id: int) -> Proposal | None: ...

    async def transition(self, proposal: Proposal, *, expected: GateState) -> bool:
        """Compare-and-set on the state: False when someone else moved it first."""
        ...

    async def open_for(self, kind: GateKind, order_key: str) -> Proposal | None: ...

    async def accuracy(self, kind: GateKind, *, since: datetime) -> Accuracy: ...


class TaskRepository(Protocol):
    """Chat tasks (``core.tasks``), the orders a tracking number or phone names, and the
    order's allocation priority (what the allocation queue will order by)."""

    async def add(self, task: Task) -> int: ...

    async def get(self, task_id: int) -> Task | None: ...

    async def by_source(self, source_ref: str) -> Task | None: ...

    async def active_for(self, order_key: str, kinds: Sequence[TaskKind]) -> list[Task]: ...

    async def latest_active_by(self, person_id: str, kinds: Sequence[TaskKind]
                               ) -> Task | None: ...

    async def transition(self, task: Task, *, expected_version: int) -> bool:
        """Compare-and-set on the version: False when someone else changed it first."""
        ...

    async def orders_by_tracking(self, tracking_no: str) -> list[str]: ...

    async def orders_by_phone(self, phone: str) -> list[str]: ...

    async def set_order_priority(self, order_key: str, priority: int) -> int | None:
        """The previous priority (None: no such order)."""
        ...


class HealthRepository(Protocol):
    """What ingestion's health checks read and count (``handlers.check_health``)."""

    async def stock_levels(self, skus: Iterable[str]) -> Mapping[str, int]:
        """The stock snapshot: units available for the SKUs it lists (others: not tracked)."""
        ...

    async def add_hits(self, rows: Sequence[RuleHits]) -> None: ...

    async def open_anomalies(self, keys: Iterable[str], codes: Iterable[AnomalyCode]
                             ) -> list[Anomaly]: ...


class ChatUnitOfWork(UnitOfWork, Protocol):
    """The unit of work chat use cases need: orders plus outbox, cards and anomalies."""

    @property
    def gates(self) -> GateRepository: ...

    @property
    def card_windows(self) -> CardWindows: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def cards(self) -> CardRepository: ...

    @property
    def anomalies(self) -> AnomalyRepository: ...

    @property
    def timers(self) -> TimerRepository: ...

    @property
    def prompts(self) -> PromptRepository: ...

    @property
    def health(self) -> HealthRepository: ...

    @property
    def tasks(self) -> TaskRepository: ...

    async def __aenter__(self) -> ChatUnitOfWork: ...


class ChatSender(Protocol):
    """Delivers outbox messages to one chat platform. Returns the platform's handle of what
    it sent (WeCom response_code, or None). Raises ``PermanentDeliveryError`` when retrying
    cannot help (unknown recipient); any other exception is retried with backoff."""

    async def deliver(self, item: OutboxItem, reference: str | None) -> str | None: ...


class PermanentDeliveryError(Exception):
    """The platform refused a message for good; it is marked failed and the queue moves on."""
