"""Scheduled job: one digest card to ops for each closed pacing window of dead letters that
went over its limit (``core.card_pacing``): how many were held back, from which sources, and
the latest reason of each. Safe to run in several processes: a compare-and-set on the window
lets exactly one of them send it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.audience import Audience
from core.card_views import dead_letter_digest
from core.people import Role
from handlers.announce import DEAD_LETTER_WINDOWS, send_card
from handlers.chat_deps import ChatDeps

KEEP_WINDOWS = timedelta(days=7)


async def send_dead_letter_digests(deps: ChatDeps, *, now: datetime) -> int:
    """Digests for every window closed by ``now`` that needs one; how many were sent."""
    pacing = deps.cards.dead_letters
    sent = 0
    async with deps.new_uow() as uow:
        due = await uow.card_windows.over_limit(DEAD_LETTER_WINDOWS, limit=pacing.limit,
                                                started_before=pacing.window_of(now))
        for start, total in due:
            if not await uow.card_windows.mark_digested(DEAD_LETTER_WINDOWS, start, at=now):
                continue
            end = pacing.window_end(start)
            sources = await uow.dead_letters.by_source(since=start, until=end)
            record = dead_letter_digest(deps.new_card_id("dld"), start, end, total,
                                        min(total, pacing.limit), sources)
            await send_card(uow, record, Audience(role=Role.OPS), deps, now)
            sent += 1
        await uow.card_windows.prune(before=now - KEEP_WINDOWS)
        await uow.commit()
    if sent:
        deps.queued()
    return sent
