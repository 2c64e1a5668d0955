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
    # 微信客服 (WeChat customers through kf accounts): the same app (it must be in 微信客服 ->
    # 可调用接口的应用), its callbacks and token; see bot/wecom/kf.py
    kf_enabled: bool = False
    kf_open_kfids: tuple[str, ...] = ()  # the kf accounts whose customers the bot answers
    kf_max_age_s: int = 3600  # older customer messages are read past, not answered

    @property
    def receive_id(self) -> str:
        """For a self-built app the receiveid inside every callback is the CorpID."""
        return self.corp_id


DEFAULT_WS_URL = "wss://openws.work.weixin.qq.com"


@dataclass(frozen=True, slots=True)
class WeComBotSettings:
    """A smart robot (智能机器人) in long-connection API mode (doc 101463): one websocket,
    no public URL. Timings default to the official SDK's (WecomTeam/aibot-node-sdk
    ``src/ws.ts``): ping every 30 s, 2 unanswered pings = dead link, reconnect after
    1 s doubling to 30 s, 5 s for the server's ack of each send.
    """

    enabled: bool = False
    bot_id: str = ""
    secret: str = field(default="", repr=False)
    ws_url: str = DEFAULT_WS_URL
    heartbeat_s: float = 30.0
    missed_pings: int = 2
    reconnect_base_s: float = 1.0
    reconnect_max_s: float = 30.0
    ack_timeout_s: float = 5.0
    update_window_s: float = 5.0
    leader_ttl_s: float = 15.0
