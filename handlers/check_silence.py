"""Scheduled use case: a parcel with no new scan for 36 h gets a verification task for ops and
a card to everyone in the ops role; the customer's answer says honestly that we are checking
(``core.customer_replies.SILENT_NOTE``). One task per silence: a new scan starts it over."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta

from core.carriers import UnknownCarrierError, carrier
from core.chat import Card
from core.clock import shanghai_text
from core.outbox import card_message
from core.people import Role
from core.tracking import SILENCE, Parcel, is_silent, label
from handlers.chat_deps import to_people
from handlers.tracking_ports import TrackingDeps

log = logging.getLogger("orderbot.tracking")


def verification_card(card_id: str, parcel: Parcel, task_id: int, deadline: datetime) -> Card:
    hours = int(SILENCE.total_seconds() // 3600)
    try:
        name = carrier(parcel.carrier).name
    except UnknownCarrierError:
        name = parcel.carrier
    fields = (("快递", f"{name} {parcel.tracking_no}"), ("订单", parcel.order_key or "-"),
              ("状态", label(parcel.state)),
              ("最后更新", shanghai_text(parcel.last_activity)),
              ("核实期限", shanghai_text(deadline)))
    body = (f"该包裹已超过 {hours} 小时没有新的物流信息。请联系快递公司核实位置，"
            f"必要时补发或理赔。客户查询时会看到“正在核实”的说明。（任务 #{task_id}）")
    return Card(card_id=card_id, title=f"物流核实：{parcel.tracking_no} {hours} 小时无更新",
                body=body, fields=fields)


async def flag_silent_parcels(deps: TrackingDeps, *, now: datetime, limit: int = 100) -> int:
    """Open a verification task (and its card) for every parcel that went silent."""
    async with deps.new_uow() as uow:
        candidates = await uow.parcels.silent(now - SILENCE, limit)
    flagged = 0
    for parcel in candidates:
        if is_silent(parcel, now) and await _flag(deps, parcel, now):
            flagged += 1
    return flagged


async def _flag(deps: TrackingDeps, parcel: Parcel, now: datetime) -> bool:
    deadline = now + timedelta(seconds=deps.settings.verify_after_s)
    async with deps.new_uow() as uow:
        current = await uow.parcels.get(parcel.id or 0, lock=True)
        if current is None or not is_silent(current, now):
            return False  # a scan arrived or another worker flagged it meanwhile
        reason = (f"物流核实：{current.carrier} {current.tracking_no} 超过 36 小时无更新")
        task_id = await uow.parcels.open_verification(current, reason=reason, at=now,
                                                      deadline=deadline)
        await uow.parcels.save(replace(current, silence_flagged_at=now), at=now)
        card = verification_card(deps.chat.new_card_id("pv"), current, task_id, deadline)
        recipients = to_people(deps.chat.directory.with_role(Role.OPS), deps.chat.platforms)
        await uow.outbox.add([card_message(platform, address, card,
                                           order_key=current.order_key)
                              for platform, address in recipients], at=now)
        await uow.commit()
    deps.chat.queued()
    log.info("parcel %s %s silent since %s: task %d", current.carrier, current.tracking_no,
             current.last_activity.isoformat(), task_id)
    return True
