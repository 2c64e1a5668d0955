"""``[tracking]`` in config.toml: providers in failover order, their credentials, polling and
silence checks, and the customer desk's limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from integrations.logistics.settings import KdniaoSettings, Kuaidi100Settings

PROVIDERS = ("kuaidi100", "kdniao")


@dataclass(frozen=True)
class TrackingConfig:
    providers: tuple[str, ...] = PROVIDERS  # priority order; unconfigured ones are skipped
    kuaidi100: Kuaidi100Settings = field(default_factory=Kuaidi100Settings)
    kdniao: KdniaoSettings = field(default_factory=KdniaoSettings)
    timeout_s: float = 5.0
    callback_base: str = ""  # public base URL of this service ("" = no push subscriptions)
    poll_every_s: int = 60  # how often the poller looks for due parcels
    poll_interval_s: int = 4 * 3600  # a parcel is polled this often (pushes come between)
    silence_scan_s: int = 900  # how often parcels silent for 36 h are looked for
    verify_after_s: int = 4 * 3600  # deadline of the verification task ops get
    fresh_s: int = 1800  # a customer query re-asks the providers when older than this
    query_limit: int = 10  # customer queries per sender per minute
    proof_attempts: int = 20  # queries with a phone's last 4 digits per sender per hour
    customer_platforms: tuple[str, ...] = ("webchat",)  # where non-staff senders are customers
    trusted_proxies: tuple[str, ...] = ()  # their X-Forwarded-For names the client

    def check(self) -> None:
        unknown = [name for name in self.providers if name not in PROVIDERS]
        if unknown:
            _fail("providers", f"names from {PROVIDERS}", unknown[0])
        for key in ("poll_every_s", "poll_interval_s", "silence_scan_s", "query_limit",
                    "proof_attempts"):
            if getattr(self, key) < 1:
                _fail(key, ">= 1", getattr(self, key))
        if self.timeout_s <= 0:
            _fail("timeout_s", "> 0", self.timeout_s)


def _fail(key: str, expected: str, got: object) -> None:
    from bot.config import ConfigError  # (bot.config imports this module)

    raise ConfigError(f"config: [tracking] {key}: expected {expected}, got {got!r}")
