"""What every channel adapter provides. One package per channel: ``integrations/channels/<name>/``.

An adapter is pure mapping plus the platform's signature rules; I/O (HTTP polling, webhook
intake) lives in the pipeline that uses it. Errors are the ``core.errors`` ones so the pipeline
can dead-letter them with a clear reason:

* ``ChannelPayloadError``: the envelope or an order object is malformed (not the platform's
  documented shape); the message names the JSON path.
* ``core.errors.InvalidOrderError`` / ``InvalidAmountError``: a field is missing or wrong.
* ``core.errors.UnknownStatusError``: a status word that the channel's table does not know.
* ``ChannelAuthError`` (from an adapter's ``api`` module): the platform refused our credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Protocol

from core.clock import require_aware
from core.errors import DomainError, UnknownStatusError
from core.order import Order
from core.states import OrderState


class ChannelPayloadError(DomainError):
    """A channel payload is not in the platform's documented shape."""


class ChannelAuthError(Exception):
    """The platform refused our credentials (bad signature, expired token, unknown app key).

    Not retryable: a person has to re-authorise the shop or fix its configuration. One class for
    every channel, so the poller handles "re-authorise this shop" once.
    """


@dataclass(frozen=True, slots=True)
class StatusTable:
    """One channel's status words -> canonical states. Unknown words raise, never guess."""

    channel: str
    table: Mapping[str, OrderState]

    def map(self, status: object) -> OrderState:
        key = str(status)
        try:
            return self.table[key]
        except KeyError:
            raise UnknownStatusError(self.channel, key) from None


@dataclass(frozen=True, slots=True)
class ShopCredentials:
    """What a polling client needs to call one shop's platform API.

    ``api_base`` is a parameter (not a constant in each adapter) so tests point it at a local
    fake platform; ``access_token`` is the OAuth/session token where the platform has one.
    """

    channel: str
    shop_id: str
    app_key: str
    app_secret: str
    access_token: str | None = None
    api_base: str = ""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """Everything a platform's push signature may cover, captured once by the intake.

    Why more than headers: 淘宝 奇门 signs the URL query, 微信小店 sends ``msg_signature``/
    ``timestamp``/``nonce`` in the query, POS refuses replays against ``received_at``. Header
    names are stored lower-case (HTTP names are case-insensitive); use ``header()``.
    """

    headers: Mapping[str, str]
    query: Mapping[str, str]
    body: bytes
    received_at: datetime

    def __post_init__(self) -> None:
        lowered = {name.lower(): value for name, value in self.headers.items()}
        object.__setattr__(self, "headers", MappingProxyType(lowered))
        object.__setattr__(self, "query", MappingProxyType(dict(self.query)))
        object.__setattr__(self, "received_at", require_aware(self.received_at, "received_at"))

    def header(self, name: str) -> str | None:
        """A header's value by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclass(frozen=True, slots=True)
class PushContent:
    """What one push tells us: full ``orders``, or only ``order_ids`` to fetch with the
    channel's detail API (``api.fetch_orders``). Both empty: a push about nothing we store."""

    orders: tuple[Order, ...] = ()
    order_ids: tuple[str, ...] = ()


class ChannelAdapter(Protocol):
    """The module-level API of ``integrations/channels/<name>/__init__.py``."""

    @property
    def name(self) -> str:  # "taobao", "douyin", "pdd", "jd", "youzan", "wechat_shop", "pos"
        ...

    @property
    def statuses(self) -> StatusTable: ...

    def parse(self, payload: Any) -> list[Order]:
        """Orders in a payload: the platform's full list/detail response with its envelope or
        a bare order object. Ids stay strings at full precision."""
        ...

    def verify_webhook(self, request: WebhookRequest, secret: str) -> bool:
        """True only when the push carries the platform's valid signature."""
        ...

    def parse_push(self, request: WebhookRequest, secret: str) -> PushContent:
        """The orders, or the ids to fetch, in a push that ``verify_webhook`` accepted.
        ``secret`` is the same one: 微信小店 pushes are encrypted with it."""
        ...
