"""What a staff member's chat message makes happen: an intent result + the sender -> a plan.

The order of the rules matters and is the point of this module:

1. a withdrawal ("不急了", "地址不用改了") withdraws: it never opens anything;
2. an unclear message (confidence under ``[intent] ask_back_below``) is answered with a
   question, never guessed at;
3. a request that needs an order and names none (no order number, tracking number or phone)
   is answered with "哪个订单？", not dropped;
4. an address change needs a usable address: none, ambiguous (西湖区: 杭州 or 南昌?) or
   incomplete -> a question;
5. then by intent: 急单 / 加配件 / 开票 / 投诉 open a task (急单, or any task with 急 as the
   second intent, is high priority); 改地址 changes the address (at once before allocation, as
   a gated action after it: ``address_route``); 取消 / 退款 are gated proposals; a status
   question or a bare order number shows the order.

Roles are not decided here: the gate policy says who may propose, ``core.tasks.may`` who may
claim, finish, escalate or cancel a task. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from core.gating import GateKind
from core.intent import Address, Intent, IntentResult, ask_back
from core.order import Receiver
from core.states import OrderState
from core.tasks import KIND_LABELS, Priority, TaskKind

UNCLEAR = ("没太明白您的意思。请问是要：急单催发、改地址、取消订单、退货退款、开票、加配件，"
           "还是查订单？请带上订单号再发一次，例如：急单 1234567890。")
WHICH_ORDER = "哪个订单？请发送订单号、快递单号或收件手机号，例如：{example}。"
ADDRESS_MISSING = ("请发送新的收货地址（省 市 区 + 详细地址），例如：1234567890 改地址 "
                   "浙江省杭州市西湖区文三路 90 号。")
ADDRESS_INCOMPLETE = ("新地址不完整，请发送省 市 区 + 详细地址，例如：浙江省杭州市西湖区"
                      "文三路 90 号。")
HELP = ("请发送订单号查询订单，或直接说要做什么，例如：急单 1234567890 今天必须发；"
        "1234567890 改地址 浙江省杭州市西湖区文三路 90 号。")

_TASKS: dict[str, TaskKind] = {"urgent": TaskKind.URGENT, "add_item": TaskKind.ADD_ITEM,
                               "invoice": TaskKind.INVOICE, "complaint": TaskKind.COMPLAINT}
_GATES: dict[str, GateKind] = {"cancel_order": GateKind.CANCEL,
                               "refund_return": GateKind.REFUND}
_EXAMPLES: dict[str, str] = {"urgent": "急单 1234567890", "change_address": "1234567890 改地址 …",
                             "cancel_order": "取消 1234567890", "refund_return": "1234567890 退货",
                             "invoice": "1234567890 开票", "add_item": "1234567890 加个五金包",
                             "complaint": "1234567890 客户投诉 …"}


@dataclass(frozen=True, slots=True)
class Ask:
    """Reply with a question and do nothing else."""

    reason: str  # unclear | no_order | address_missing | address_ambiguous | ... | help
    text: str


@dataclass(frozen=True, slots=True)
class OpenTask:
    kind: TaskKind
    priority: Priority

    @property
    def urgent(self) -> bool:
        return self.priority is Priority.HIGH


@dataclass(frozen=True, slots=True)
class ChangeAddress:
    address: Address


@dataclass(frozen=True, slots=True)
class ProposeGate:
    kind: GateKind


@dataclass(frozen=True, slots=True)
class Withdraw:
    """Close the matching open task(s) of these intents (the order's, else the sender's
    latest); for 改地址 / 取消 / 退款 say honestly what already happened."""

    intents: tuple[Intent, ...]


@dataclass(frozen=True, slots=True)
class ShowOrder:
    pass


Plan = Ask | OpenTask | ChangeAddress | ProposeGate | Withdraw | ShowOrder


def plan(result: IntentResult, *, ask_back_below: float, typed_ref: bool = False) -> Plan:
    """What to do with a staff message read as ``result`` (rules 1-5 above). ``typed_ref``:
    the message names an order the intent reader did not take as one ("急单 1234")."""
    reference = result.entities.has_reference or typed_ref
    if result.is_retraction:
        return Withdraw(result.retracted)
    if ask_back(result, ask_back_below) == "unclear":
        return Ask("unclear", UNCLEAR)
    intent = result.intent
    if intent == "other":
        return ShowOrder() if reference else Ask("help", HELP)
    if not reference:
        return Ask("no_order", WHICH_ORDER.format(example=_EXAMPLES.get(intent, "1234567890")))
    if intent == "change_address":
        return _address(result.entities.new_address)
    if intent in _TASKS:
        urgent = "urgent" in (intent, result.secondary) and "urgent" not in result.retracted
        return OpenTask(_TASKS[intent], Priority.HIGH if urgent else Priority.NORMAL)
    if intent in _GATES:
        return ProposeGate(_GATES[intent])
    return ShowOrder()  # query_status


def _address(address: Address | None) -> Plan:
    if address is None:
        return Ask("address_missing", ADDRESS_MISSING)
    if address.ambiguous:
        return Ask("address_ambiguous", which_city(address))
    if not address.complete or not address.detail:
        return Ask("address_incomplete", ADDRESS_INCOMPLETE)
    return ChangeAddress(address)


def which_city(address: Address) -> str:
    """"西湖区有两个：浙江省杭州市西湖区、江西省南昌市西湖区。请问是哪个城市？"."""
    places = "、".join("".join(c) for c in address.candidates[:5])
    name = address.district or address.city or "这个地名"
    return (f"{name}有{len(address.candidates)}个：{places}。请问是哪个城市？"
            f"请带上省市重新发送新地址。")


def task_title(kind: TaskKind, order_key: str, products: tuple[str, ...] = ()) -> str:
    """"急单 taobao:1234567" / "加配件 taobao:1234567：五金包"."""
    extra = f"：{'、'.join(products[:5])}" if products else ""
    return f"{KIND_LABELS[kind]} {order_key}{extra}"


# --- the address: at once before allocation, gated after it, refused once picked up --------

class AddressRoute(StrEnum):
    APPLY = "apply"
    GATE = "gate"
    TOO_LATE = "too_late"


_BEFORE_ALLOCATION = frozenset({OrderState.PENDING_PAYMENT, OrderState.DEPOSIT_PAID,
                                OrderState.PAID, OrderState.AWAITING_ALLOCATION})
_AFTER_ALLOCATION = frozenset({OrderState.ALLOCATED, OrderState.LABEL_PRINTED})


def address_route(state: OrderState) -> AddressRoute:
    """Before a warehouse has the order the address simply changes; after allocation (until a
    carrier has the parcel) a supervisor must confirm (a gated action); later it cannot."""
    if state in _BEFORE_ALLOCATION:
        return AddressRoute.APPLY
    if state in _AFTER_ALLOCATION:
        return AddressRoute.GATE
    return AddressRoute.TOO_LATE


def new_receiver(old: Receiver, address: Address) -> Receiver:
    """The receiver with the new divisions and street (name and phone kept)."""
    return replace(old, province=address.province, city=address.city,
                   district=address.district, address=address.detail)


def receiver_params(address: Address) -> dict[str, str | None]:
    """The gate's ``params.receiver`` for an address change after allocation."""
    return {"province": address.province, "city": address.city, "district": address.district,
            "address": address.detail}
