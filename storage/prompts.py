"""Chat prompts: "请回复收货地址" is pending for a person in a conversation (one at a time)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.prompts import Prompt
from storage.timer_tables import PromptRow

prompts_t = PromptRow.__table__  # type: ignore[attr-defined]


class SqlPrompts:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def put(self, prompt: Prompt) -> None:
        """Ask (replacing any earlier question in that conversation)."""
        insert = pg_insert if self._session.bind.dialect.name == "postgresql" else sqlite_insert
        values: dict[str, Any] = {
            "platform": prompt.platform, "conversation": prompt.conversation,
            "person_id": prompt.person_id, "card_id": prompt.card_id,
            "anomaly_id": prompt.anomaly_id, "field": prompt.field,
            "expires_at": prompt.expires_at,
        }  # fmt: skip
        statement = insert(prompts_t).values(values)
        await self._session.execute(statement.on_conflict_do_update(
            index_elements=[prompts_t.c.platform, prompts_t.c.conversation],
            set_={k: statement.excluded[k] for k in values
                  if k not in ("platform", "conversation")}))

    async def pop(self, platform: str, conversation: str, *, now: datetime) -> Prompt | None:
        """The pending question there, removed; None when there is none or it expired."""
        result = await self._session.execute(
            delete(prompts_t).where(prompts_t.c.platform == platform,
                                    prompts_t.c.conversation == conversation)
            .returning(*prompts_t.c))
        row = result.first()
        if row is None or row.expires_at <= now:
            return None
        return Prompt(row.platform, row.conversation, row.person_id, row.card_id,
                      row.anomaly_id, row.field, row.expires_at)
