"""What every channel adapter provides. One package per channel: ``integrations/channels/<name>/``.

An adapter is pure mapping plus the platform's signature rules; I/O (HTTP polling, webhook
intake) lives in the pipeline that uses it. Errors are the ``core.errors`` ones so the pipeline
can dead-letter them with a clear reason:

* ``ChannelPayloadError``: the envelope or an order object is malformed (not the platform's
  documented shape); the message names the JSON path.
* ``core.errors.InvalidOrderError`` / ``InvalidAmountError``: a field is missing or wrong.
* ``core.errors.UnknownStatusError``: a status word that the channel's table does not know.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from core.errors import DomainError, UnknownStatusError
from core.order import Order
from core.states import OrderState


class ChannelPayloadError(DomainError):
    """A channel payload is not in the platform's documented shape."""


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


class ChannelAdapter(Protocol):
    """The module-level API of ``integrations/channels/<name>/__init__.py``."""

    name: str  # "taobao", "douyin", "pdd", "jd", "youzan", "wechat_shop", "pos"
    statuses: StatusTable

    def parse(self, payload: Any) -> list[Order]:
        """Orders in a payload: the platform's full list/detail response with its envelope,
        a push message, or a bare order object. Ids stay strings at full precision."""
        ...

    def verify_webhook(
        self, headers: Mapping[str, str], body: bytes, secret: str
    ) -> bool:
        """True only when the push carries the platform's valid signature for ``body``."""
        ...
