"""Channel name -> adapter module, so callers (webhook intake, poller, ``orderbot map``) never
import a concrete channel package by hand.

Every entry is checked by mypy against the ``ChannelAdapter`` Protocol: a channel package whose
module-level API drifts from the contract fails type checking here, not at the first push.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from integrations.channels import douyin, jd, pdd, pos, taobao, wechat_shop, youzan
from integrations.channels.base import ChannelAdapter


class UnknownChannelError(LookupError):
    """A channel name with no adapter; the message lists the known ones."""


_ADAPTERS: dict[str, ChannelAdapter] = {
    "taobao": taobao,
    "douyin": douyin,
    "pdd": pdd,
    "jd": jd,
    "youzan": youzan,
    "wechat_shop": wechat_shop,
    "pos": pos,
}
ADAPTERS: Mapping[str, ChannelAdapter] = MappingProxyType(_ADAPTERS)


def names() -> tuple[str, ...]:
    """The known channel names, sorted."""
    return tuple(sorted(ADAPTERS))


def get(name: str) -> ChannelAdapter:
    """The adapter for ``name``; an unknown name raises ``UnknownChannelError`` listing the
    known channels."""
    try:
        return ADAPTERS[name]
    except KeyError:
        raise UnknownChannelError(
            f"unknown channel {name!r}; known channels: {', '.join(names())}") from None
