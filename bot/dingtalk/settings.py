"""DingTalk settings (config ``[dingtalk]``), a frozen value the composition root builds."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_API_BASE = "https://api.dingtalk.com"


@dataclass(frozen=True, slots=True)
class DingTalkSettings:
    """An internal enterprise app with a robot, in stream mode (no public URL needed).

    ``client_secret`` is left out of ``repr`` so that logging a settings object leaks nothing.
    """

    enabled: bool = False
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    robot_code: str = ""
    card_template_id: str = ""
    api_base: str = DEFAULT_API_BASE
    reconnect_delay_s: float = 3.0
    idle_timeout_s: float = 300.0
    token_refresh_margin_s: int = 300

    @property
    def robot(self) -> str:
        """robotCode: for an internal app's robot it is the AppKey unless configured."""
        return self.robot_code or self.client_id
