"""Credentials and endpoints of the tracking providers (``[tracking.kuaidi100]``,
``[tracking.kdniao]`` in config.toml); a provider without credentials is not used."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kuaidi100Settings:
    """快递100 企业版: ``customer`` and ``key`` from its 我的信息 page; ``salt`` signs pushes."""

    customer: str = ""
    key: str = field(default="", repr=False)
    salt: str = field(default="", repr=False)
    api_base: str = "https://poll.kuaidi100.com"

    @property
    def configured(self) -> bool:
        return bool(self.customer and self.key)


@dataclass(frozen=True)
class KdniaoSettings:
    """快递鸟: ``ebusiness_id`` (用户ID) and ``app_key`` (API key); ``request_type`` 8001 is
    在途监控 即时查询 (with StateEx), 1002 the basic 即时查询."""

    ebusiness_id: str = ""
    app_key: str = field(default="", repr=False)
    api_base: str = "https://api.kdniao.com"
    request_type: str = "8001"
    subscribe_type: str = "8008"

    @property
    def configured(self) -> bool:
        return bool(self.ebusiness_id and self.app_key)
