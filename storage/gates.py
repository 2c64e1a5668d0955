"""Gated-action proposals: store, load, move state with a compare-and-set, count accuracy.

``transition`` is the one way a proposal's state changes: ``UPDATE ... WHERE id = :id AND
state = :expected``. Of twenty simultaneous confirmations exactly one UPDATE matches (on
PostgreSQL the others wait for the row lock and then see the new state; on SQLite writers are
serialised by ``BEGIN IMMEDIATE``); the losers get False and change nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.gating import DECIDED_STATES, Accuracy, GateKind, GateState, Proposal, tally
from storage.gate_tables import GateProposalRow

gates_t = GateProposalRow.__table__  # type: ignore[attr-defined]


class SqlGates:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, proposal: Proposal) -> int:
        """Insert a new proposal; returns its id."""
        result = await self._session.execute(
            insert(gates_t).values(_values(proposal)).returning(gates_t.c.id))
        return int(result.scalar_one())

    async def get(self, proposal_id: int) -> Proposal | None:
        row = (await self._session.execute(
            select(gates_t).where(gates_t.c.id == proposal_id))).first()
        return None if row is None else _proposal(row)

    async def transition(self, proposal: Proposal, *, expected: GateState) -> bool:
        """Store ``proposal`` (its new state and decision) if the stored state is still
        ``expected``; False when someone else moved it first."""
        values = {k: v for k, v in _values(proposal).items()
                  if k in ("state", "decided_by", "decided_at", "executed_at", "note")}
        result = await self._session.execute(
            update(gates_t)
            .where(gates_t.c.id == proposal.id, gates_t.c.state == expected.value)
            .values(values).returning(gates_t.c.id))
        return result.scalar_one_or_none() is not None

    async def open_for(self, kind: GateKind, order_key: str) -> Proposal | None:
        """The open proposal of ``kind`` for an order, if any (one at a time per order)."""
        row = (await self._session.execute(
            select(gates_t).where(gates_t.c.kind == kind.value,
                                  gates_t.c.order_key == order_key,
                                  gates_t.c.state == GateState.PROPOSED.value)
            .order_by(gates_t.c.id).limit(1))).first()
        return None if row is None else _proposal(row)

    async def accuracy(self, kind: GateKind, *, since: datetime) -> Accuracy:
        """Confirmed / decided among proposals of ``kind`` decided at or after ``since``."""
        query = (select(gates_t.c.state, func.count())
                 .where(gates_t.c.kind == kind.value, gates_t.c.decided_at >= since,
                        gates_t.c.state.in_([s.value for s in DECIDED_STATES]))
                 .group_by(gates_t.c.state))
        states: list[GateState] = []
        for state, count in (await self._session.execute(query)).all():
            states += [GateState(state)] * int(count)
        return tally(states)


def _values(p: Proposal) -> dict[str, Any]:
    return {"kind": p.kind.value, "state": p.state.value, "order_key": p.order_key,
            "subject": p.subject, "params": dict(p.params),
            "evidence": {"reason": p.reason, "facts": [list(f) for f in p.evidence]},
            "proposer": p.proposer, "proposed_at": p.proposed_at, "deadline": p.deadline,
            "decided_by": p.decided_by, "decided_at": p.decided_at,
            "executed_at": p.executed_at, "note": p.note, "card_id": p.card_id}


def _proposal(row: Any) -> Proposal:
    evidence = row.evidence or {}
    return Proposal(
        kind=GateKind(row.kind), proposer=row.proposer, reason=str(evidence.get("reason", "")),
        proposed_at=row.proposed_at, deadline=row.deadline, order_key=row.order_key,
        subject=row.subject, params=dict(row.params or {}),
        evidence=tuple((str(k), str(v)) for k, v in evidence.get("facts", ())),
        state=GateState(row.state), decided_by=row.decided_by, decided_at=row.decided_at,
        executed_at=row.executed_at, note=row.note, card_id=row.card_id, id=int(row.id))
