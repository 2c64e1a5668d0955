"""A customer asks "where is my order": what they asked for, and whether they may see it.

Who may see an order (DESIGN: customers are identified separately from staff):

* its buyer: a sender bound to the order's phone (``CustomerBinding``, made the first time the
  sender proved the phone), or a sender who typed the full receiver phone as the query;
* anyone who gives the last 4 digits of the receiver phone together with the order or
  tracking number (and then, on a chat platform, becomes bound to that phone).

Everyone else gets a neutral reply that is the same whether the order exists or not: a
stranger typing someone else's order number learns nothing, not even that it exists. Pure:
the handler loads facts, calls ``grant``, and renders with ``core.customer_replies``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from core.order import Receiver
from core.states import OrderState
from core.tracking import Parcel, TraceLine

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d{9})(?!\d)")
_LAST4 = re.compile(r"(?:尾号|后四位|后4位|末四位|手机尾号)\D{0,3}(\d{4})(?!\d)")
_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-:]{3,63}")
_FOUR = re.compile(r"(?<![\dA-Za-z])(\d{4})(?![\dA-Za-z])")
MIN_REF = 6  # shorter digit runs are not order or tracking numbers


@dataclass(frozen=True, slots=True)
class Query:
    """What was asked: order/tracking numbers, a full phone, the phone's last 4 digits."""

    refs: tuple[str, ...] = ()
    phone: str | None = None
    last4: str | None = None

    @property
    def empty(self) -> bool:
        return not self.refs and self.phone is None


def normalize(text: str) -> str:
    """Full-width digits and letters to ASCII (１２３ -> 123), as customers type on phones."""
    return unicodedata.normalize("NFKC", text)


def parse_query(text: str, last4: str | None = None) -> Query:
    """Read a message like "查单 1234567890 尾号5678", "SF1234567890123", "13812345678"."""
    text = normalize(text)
    phone_match = _MOBILE.search(text)
    phone = phone_match.group(1) if phone_match else None
    rest = _MOBILE.sub(" ", text)
    tail = _LAST4.search(rest)
    found_last4 = tail.group(1) if tail else None
    rest = _LAST4.sub(" ", rest)
    refs = tuple(dict.fromkeys(
        t for t in _TOKEN.findall(rest) if any(c.isdigit() for c in t) and len(t) >= MIN_REF))
    if found_last4 is None and refs:
        four = _FOUR.search(rest)
        found_last4 = four.group(1) if four else None
    given = last4 if last4 and re.fullmatch(r"\d{4}", last4) else None
    return Query(refs=refs[:3], phone=phone, last4=given or found_last4)


def phone_digits(phone: str | None) -> str:
    return re.sub(r"\D", "", normalize(phone or ""))


def phone_digest(phone: str | None) -> str | None:
    """What a binding stores: SHA-256 of the mobile's 11 digits (never the phone itself)."""
    digits = phone_digits(phone)
    if len(digits) < 11 or "*" in (phone or ""):
        return None
    return hashlib.sha256(digits[-11:].encode("ascii")).hexdigest()


class Access(StrEnum):
    GRANTED = "granted"
    NEED_PROOF = "need_proof"  # ask for the phone's last 4 (neutral: says nothing more)
    DENIED = "denied"  # proof given and wrong, or no phone on the order to check against


class Grant(StrEnum):
    """Why access was granted (the reply and the binding depend on it)."""

    BOUND = "bound"
    PHONE = "phone"
    LAST4 = "last4"


@dataclass(frozen=True, slots=True)
class Decision:
    access: Access
    grant: Grant | None = None


def grant(order_phone: str | None, query: Query, *, bound: bool) -> Decision:
    """May the asker see an order with ``order_phone``?"""
    if bound:
        return Decision(Access.GRANTED, Grant.BOUND)
    digits = phone_digits(order_phone)
    if query.phone and len(digits) >= 11 and digits[-11:] == query.phone:
        return Decision(Access.GRANTED, Grant.PHONE)
    if query.last4 is None:
        return Decision(Access.NEED_PROOF)
    if len(digits) >= 4 and digits[-4:] == query.last4:
        return Decision(Access.GRANTED, Grant.LAST4)
    return Decision(Access.DENIED)


@dataclass(frozen=True, slots=True)
class ParcelView:
    """A parcel with its newest scan and its first (the pick-up, for the estimate)."""

    parcel: Parcel
    latest: TraceLine | None = None
    first: TraceLine | None = None


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """Everything a customer answer needs about one order (a read model, not the aggregate)."""

    key: str
    channel: str
    channel_order_id: str
    status: OrderState
    created_at: datetime
    receiver: Receiver
    parcels: tuple[ParcelView, ...] = ()

    @property
    def phone(self) -> str | None:
        return self.receiver.phone


@dataclass(frozen=True, slots=True)
class Freshness:
    """How old the trace shown is when the providers could not be asked just now."""

    stale_since: datetime | None = None  # last successful check, when the refresh failed

    def age_text(self, now: datetime) -> str | None:
        if self.stale_since is None:
            return None
        minutes = max(int((now - self.stale_since).total_seconds() // 60), 0)
        if minutes < 60:
            return f"{minutes} 分钟前"
        if minutes < 48 * 60:
            return f"{minutes // 60} 小时前"
        return f"{minutes // (24 * 60)} 天前"


def estimated_date(value: date | None) -> str | None:
    return f"{value.month}月{value.day}日" if value else None
