"""Unit of work: one transaction, the repositories bound to it, commit or roll back."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.errors import ConcurrencyError, ConnectionLostError
from storage.anomalies import SqlAnomalies
from storage.card_windows import SqlCardWindows
from storage.cards import SqlCards
from storage.counters import SqlCounters
from storage.customers import SqlCustomers
from storage.dead_letters import SqlDeadLetters
from storage.gates import SqlGates
from storage.health import SqlHealth
from storage.orders import SqlOrderRepository
from storage.outbox import SqlOutbox
from storage.parcels import SqlParcels
from storage.prompts import SqlPrompts
from storage.snapshots import SqlSnapshots
from storage.tasks import SqlTasks
from storage.timers import SqlTimers


class SqlUnitOfWork:
    """``async with uow:`` opens a transaction; leave without ``commit()`` and it rolls back.

    A unique-key race (two workers creating the same order at once) surfaces as
    ``ConcurrencyError`` so the use case can retry with fresh state. A connection found dead
    (the main engine does not pre-ping, see ``storage.db.create_engine``) surfaces as
    ``ConnectionLostError``: SQLAlchemy has invalidated the pool, so a retry gets a fresh one.
    """

    orders: SqlOrderRepository
    dead_letters: SqlDeadLetters
    snapshots: SqlSnapshots
    counters: SqlCounters
    outbox: SqlOutbox
    cards: SqlCards
    anomalies: SqlAnomalies
    timers: SqlTimers
    prompts: SqlPrompts
    health: SqlHealth
    gates: SqlGates
    card_windows: SqlCardWindows
    parcels: SqlParcels
    customers: SqlCustomers
    tasks: SqlTasks

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> SqlUnitOfWork:
        self._session = self._sessions()
        await self._session.begin()
        self.orders = SqlOrderRepository(self._session)
        self.dead_letters = SqlDeadLetters(self._session)
        self.snapshots = SqlSnapshots(self._session)
        self.counters = SqlCounters(self._session)
        self.outbox = SqlOutbox(self._session)
        self.cards = SqlCards(self._session)
        self.anomalies = SqlAnomalies(self._session)
        self.timers = SqlTimers(self._session)
        self.prompts = SqlPrompts(self._session)
        self.health = SqlHealth(self._session)
        self.gates = SqlGates(self._session)
        self.card_windows = SqlCardWindows(self._session)
        self.parcels = SqlParcels(self._session)
        self.customers = SqlCustomers(self._session)
        self.tasks = SqlTasks(self._session)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if session.in_transaction():
                await session.rollback()
        finally:
            await session.close()
        if isinstance(exc, IntegrityError):
            raise ConcurrencyError(f"conflicting write: {exc.orig}") from exc
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            raise ConnectionLostError(f"database connection lost: {exc.orig}") from exc

    async def commit(self) -> None:
        assert self._session is not None, "commit() outside 'async with'"
        try:
            await self._session.commit()
        except IntegrityError as error:
            raise ConcurrencyError(f"conflicting write: {error.orig}") from error
