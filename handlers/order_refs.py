"""Which order a staff message means: by order number (as typed, with or without channel),
by tracking number (the parcels registry), or by receiver phone; and the reply when that is
not exactly one order."""

from __future__ import annotations

from core.intent import Entities
from core.lookup import order_ref
from core.masking import mask_text
from handlers.ports import ChatUnitOfWork


def typed_ref(entities: Entities, text: str) -> str | None:
    """An order reference the intent reader did not take as one: a short number ("急单 1234":
    shops with short ids) or a lettered / channel-prefixed one ("JD88007001", "taobao:1234");
    never the digits of the new address ("文三路 901 号")."""
    if entities.has_reference:
        return None
    typed = order_ref(text)
    address = entities.new_address
    if typed is None or (address is not None and typed in address.detail):
        return None
    return typed


async def find_orders(uow: ChatUnitOfWork, entities: Entities, typed: str | None
                      ) -> tuple[list[str], str]:
    """The order keys the message names, and what was asked for (for the reply). Order
    numbers first (``typed``: see ``typed_ref``), then tracking numbers (parcels registry),
    then receiver phones."""
    refs = [*entities.order_nos, *([typed] if typed else [])]
    for ref in refs:
        if keys := await uow.orders.find(ref):
            return keys, ref
    for number in entities.tracking_nos:
        if keys := await uow.tasks.orders_by_tracking(number):
            return keys, number
    for phone in entities.phones:
        if keys := await uow.tasks.orders_by_phone(phone):
            return keys, mask_text(phone)
    asked = (refs or list(entities.tracking_nos) or [mask_text(p) for p in entities.phones])
    return [], asked[0] if asked else ""


def not_one(asked: str, keys: list[str]) -> str:
    if len(keys) > 1:
        return (f"「{asked}」对应多个订单：{'、'.join(keys[:5])}。请发送完整订单号（可带渠道，"
                f"如 {keys[0]}）再说一次。")
    return f"没有找到「{asked}」对应的订单，请核对订单号、快递单号或手机号。"
