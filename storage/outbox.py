"""The outbox repository: rows written with the domain change, claimed and delivered in order.

``add`` runs inside the caller's unit of work, so a message exists exactly when the change
that caused it was committed. ``claim`` hands out only the *head* of each conversation (its
oldest unsent row), so conversations are delivered strictly in order and a failing head blocks
its own conversation only. A claim is a lease: the row turns ``sending`` until
``next_attempt_at``; a sender that dies mid-delivery loses the lease and another claims it.
The claim is a compare-and-set, so two senders never both win a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.outbox import OutboxItem, Outgoing, OutKind, OutStatus, Sent, latency_ms
from storage.outbox_wakeups import NOTIFY
from storage.tables import OrderRow, OutboxRow

outbox_t = OutboxRow.__table__  # type: ignore[attr-defined]
orders_t = OrderRow.__table__  # type: ignore[attr-defined]
_OPEN = (OutStatus.PENDING.value, OutStatus.SENDING.value)
_NOTIFY = text(NOTIFY)  # delivered at commit, once per transaction however often issued


_MARK_SENT = (update(outbox_t).where(outbox_t.c.id == bindparam("row_id"))
              .values(status=OutStatus.SENT.value, sent_at=bindparam("at"), last_error=None,
                      latency_ms=bindparam("latency"), delivery_ref=bindparam("ref")))


def _head_ids() -> Any:
    """Per (platform, conversation) the id of its oldest row not yet sent or failed."""
    return (select(func.min(outbox_t.c.id).label("id"))
            .where(outbox_t.c.status.in_(_OPEN))
            .group_by(outbox_t.c.platform, outbox_t.c.conversation)
            .subquery())


class SqlOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, messages: Sequence[Outgoing], *, at: datetime) -> list[int]:
        """Queue ``messages`` (in this order) in the current transaction; returns their ids.
        On PostgreSQL the commit also wakes the senders of other processes
        (``storage.outbox_wakeups``)."""
        ids: list[int] = []
        if messages and self._session.get_bind().dialect.name == "postgresql":
            await self._session.execute(_NOTIFY)
        for message in messages:
            order_id = await self._order_id(message.order_key)
            values = {
                "platform": message.platform, "conversation": message.conversation,
                "kind": message.kind.value, "payload": dict(message.payload),
                "order_id": order_id, "status": OutStatus.PENDING.value, "attempts": 0,
                "next_attempt_at": at, "created_at": at, "card_id": message.card_id,
            }  # fmt: skip
            result = await self._session.execute(insert(outbox_t).returning(outbox_t.c.id),
                                                 [values])
            ids.append(int(result.scalar_one()))
        return ids

    async def _order_id(self, key: str | None) -> int | None:
        if not key or ":" not in key:
            return None
        channel, channel_order_id = key.split(":", 1)
        query = select(orders_t.c.id).where(orders_t.c.channel == channel,
                                            orders_t.c.channel_order_id == channel_order_id)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def claim(self, *, now: datetime, lease_s: float, limit: int,
                    skip_platforms: Sequence[str] = ()) -> list[OutboxItem]:
        """Due conversation heads (oldest first), now leased to the caller until
        ``now + lease_s``; each claim counts as an attempt. ``skip_platforms``: platforms
        this process cannot deliver right now (a link held by another process).

        One ``UPDATE ... RETURNING`` for the whole batch (a select and one update per row cost
        a round trip per row: a 100-row backlog took a 200-470 ms claim on a loaded machine).
        The conditions are repeated on the updated row itself: PostgreSQL re-checks them on a
        row another sender has just leased (and skips it), so two senders never both win."""
        heads = _head_ids()
        due = (select(outbox_t.c.id).join(heads, heads.c.id == outbox_t.c.id)
               .where(outbox_t.c.next_attempt_at <= now)
               .order_by(outbox_t.c.next_attempt_at, outbox_t.c.id).limit(limit))
        if skip_platforms:
            due = due.where(outbox_t.c.platform.not_in(list(skip_platforms)))
        lease = (update(outbox_t)
                 .where(outbox_t.c.id.in_(due.scalar_subquery()),
                        outbox_t.c.status.in_(_OPEN), outbox_t.c.next_attempt_at <= now)
                 .values(status=OutStatus.SENDING.value,
                         next_attempt_at=now + timedelta(seconds=lease_s),
                         attempts=outbox_t.c.attempts + 1)
                 .returning(*outbox_t.c))
        rows = (await self._session.execute(lease)).all()
        return [_item(row, row.attempts) for row in sorted(rows, key=lambda row: row.id)]

    async def mark_sent(self, sent: Sequence[Sent]) -> None:
        """A round's deliveries in one executemany (asyncpg pipelines it: one round trip)."""
        if not sent:
            return
        await self._session.execute(_MARK_SENT, [
            {"row_id": s.item.id, "at": s.at, "ref": s.delivery_ref,
             "latency": latency_ms(s.item.created_at, s.at)} for s in sent])

    async def mark_failed(self, item: OutboxItem, *, error: str,
                          next_attempt_at: datetime | None) -> None:
        """A failed attempt: retry at ``next_attempt_at``, or give up for good when None."""
        status = OutStatus.PENDING if next_attempt_at is not None else OutStatus.FAILED
        values: dict[str, Any] = {"status": status.value, "last_error": error[:2000]}
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        await self._session.execute(update(outbox_t).where(outbox_t.c.id == item.id)
                                    .values(values))

    async def holders(self, card_id: str) -> list[tuple[str, str]]:
        """Every (platform, conversation) a card was sent to, in first-sent order."""
        query = (select(outbox_t.c.platform, outbox_t.c.conversation, func.min(outbox_t.c.id))
                 .where(outbox_t.c.card_id == card_id,
                        outbox_t.c.kind == OutKind.CARD.value)
                 .group_by(outbox_t.c.platform, outbox_t.c.conversation)
                 .order_by(func.min(outbox_t.c.id)))
        return [(r[0], r[1]) for r in (await self._session.execute(query)).all()]

    async def delivery_ref(self, card_id: str, platform: str, conversation: str) -> str | None:
        """The platform's handle of the card as last sent to that conversation (or None)."""
        query = (select(outbox_t.c.delivery_ref)
                 .where(outbox_t.c.card_id == card_id, outbox_t.c.platform == platform,
                        outbox_t.c.conversation == conversation,
                        outbox_t.c.status == OutStatus.SENT.value,
                        outbox_t.c.delivery_ref.is_not(None))
                 .order_by(outbox_t.c.id.desc()).limit(1))
        return (await self._session.execute(query)).scalar_one_or_none()

    async def recent(self, platform: str, conversation: str, limit: int = 100
                     ) -> list[OutboxItem]:
        """The conversation's latest sent rows, oldest first (the web chat's history)."""
        newest = aliased(outbox_t)
        query = (select(newest).where(and_(newest.c.platform == platform,
                                           newest.c.conversation == conversation,
                                           newest.c.status == OutStatus.SENT.value))
                 .order_by(newest.c.id.desc()).limit(limit))
        rows = (await self._session.execute(query)).all()
        return [_item(row, row.attempts) for row in reversed(rows)]


def _item(row: Any, attempts: int) -> OutboxItem:
    message = Outgoing(row.platform, row.conversation, OutKind(row.kind), row.payload,
                       row.card_id, None)
    return OutboxItem(row.id, message, attempts, row.created_at, row.delivery_ref)
