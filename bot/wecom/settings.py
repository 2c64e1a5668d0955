"""WeCom settings (config ``[wecom]``), a frozen value the composition root builds from config."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"


@dataclass(frozen=True, slots=True)
class WeComSettings:
    """A self-built app (自建应用): its callback secrets and API credentials.

    Secrets are left out of ``repr`` so that logging a settings object leaks nothing.
    """

    enabled: bool = False
    corp_id: str = ""
    agent_id: int = 0
    secret: str = field(default="", repr=False)
    token: str = field(default="", repr=False)
    encoding_aes_key: str = field(default="", repr=False)
    api_base: str = DEFAULT_API_BASE
    max_clock_skew_s: int = 300
    webhook_key: str = field(default="", repr=False)
    token_refresh_margin_s: int = 300

    @property
    def receive_id(self) -> str:
        """For a self-built app the receiveid inside every callback is the CorpID."""
        return self.corp_id
