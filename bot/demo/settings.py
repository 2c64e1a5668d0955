"""``[demo]``: the feeder that shows a newcomer orders arriving in the embedded ``make run``.

Kept free of other ``bot`` imports so that ``bot.config`` can import it (see ``__init__``).
"""

from __future__ import annotations

from dataclasses import dataclass

# Channels whose pushes carry whole orders. 抖店 and 微信小店 push only ids, which the worker
# would fetch from the shop's API; the demo has no such API to serve, so they are left out.
DEMO_CHANNELS: tuple[str, ...] = ("youzan", "taobao", "jd", "pdd", "pos")


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """``enabled`` is off by default: a production service must never invent orders."""

    enabled: bool = False
    interval_s: float = 3.0
    channels: tuple[str, ...] = DEMO_CHANNELS
    seed: int | None = None
    unhealthy_share: float = 0.1
    escalate_after_s: float = 60.0  # A-class SLA in the demo (a [routing] rule for A wins)

    def check(self) -> None:
        """Raise ``ConfigError`` naming the first wrong key (called by ``load_config``)."""
        from bot.config import ConfigError  # here, not at the top: bot.config imports us

        def require(ok: bool, key: str, expected: str, got: object) -> None:
            if not ok:
                raise ConfigError(f"config: [demo] {key}: expected {expected}, got {got!r}")

        require(self.interval_s > 0, "interval_s", "> 0", self.interval_s)
        require(0 <= self.unhealthy_share <= 1, "unhealthy_share", "0-1", self.unhealthy_share)
        require(self.escalate_after_s > 0, "escalate_after_s", "> 0", self.escalate_after_s)
        unknown = [c for c in self.channels if c not in DEMO_CHANNELS]
        require(not unknown, "channels", f"some of {', '.join(DEMO_CHANNELS)}", unknown)
        require(bool(self.channels) or not self.enabled, "channels", "at least one", [])
