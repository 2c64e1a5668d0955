"""Configuration: built-in defaults < TOML file < environment variables.

The file is ``--config PATH``, else ``./config.toml`` if present. An environment variable
``ORDERBOT_<SECTION>__<KEY>`` overrides ``[section] key`` (``ORDERBOT_SERVER__PORT=9000``).
Every section is a frozen dataclass; its fields are the only keys allowed. A wrong type, a bad
value or an unknown key raises ``ConfigError`` with a one-line message naming the key, and the
CLI turns that into exit code 2. ``config.example.toml`` documents every key.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.demo import DemoConfig
from bot.dingtalk.settings import DingTalkSettings
from bot.gating_config import GatingConfig
from bot.health_config import HealthConfig
from bot.people_config import PersonConfig
from bot.routing_config import RoutingConfig, SubstituteConfig, TimersConfig
from bot.tasks_config import TasksConfig
from bot.tracking_config import TrackingConfig
from bot.wecom.settings import WeComBotSettings, WeComSettings
from core.audience import parse_audience

ENV_PREFIX = "ORDERBOT_"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the key and what was expected."""


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    shutdown_timeout_s: float = 3.0

    def check(self) -> None:
        _require(0 <= self.port <= 65535, "server", "port", "a TCP port 0-65535", self.port)
        _require(self.shutdown_timeout_s >= 0, "server", "shutdown_timeout_s", ">= 0",
                 self.shutdown_timeout_s)


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = "sqlite+aiosqlite:///var/orderbot.db"
    echo: bool = False

    def check(self) -> None:
        ok = self.url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://"))
        _require(ok, "database", "url", "a sqlite+aiosqlite:// or postgresql+asyncpg:// URL",
                 self.url.split("@")[-1])


@dataclass(frozen=True)
class LogConfig:
    level: str = "INFO"
    format: str = "text"

    def check(self) -> None:
        _require(self.level.upper() in LOG_LEVELS, "log", "level", f"one of {LOG_LEVELS}",
                 self.level)
        _require(self.format in ("text", "json"), "log", "format", "'text' or 'json'",
                 self.format)


@dataclass(frozen=True)
class ShopConfig:
    """One shop on one channel (``[[shops]]``): polled on a schedule and/or pushing webhooks."""

    channel: str = ""
    shop_id: str = ""
    app_key: str = ""
    app_secret: str = field(default="", repr=False)
    access_token: str = field(default="", repr=False)
    api_base: str = ""
    webhook_secret: str = field(default="", repr=False)
    poll: bool = False
    poll_interval_s: int = 300
    poll_overlap_s: int = 120


@dataclass(frozen=True)
class InboxConfig:
    """Where inbound work waits: the database (embedded default) or Redis Streams."""

    backend: str = "sql"
    redis_url: str = "redis://127.0.0.1:6379/0"
    stream_prefix: str = "orderbot"
    workers: int = 2
    batch: int = 200
    linger_ms: int = 50
    worker_nice: int = 5
    reclaim_idle_s: float = 30.0
    max_attempts: int = 5
    dedup_ttl_s: int = 3 * 24 * 3600
    poll_ms: int = 100

    def check(self) -> None:
        _require(self.backend in ("sql", "redis"), "inbox", "backend", "'sql' or 'redis'",
                 self.backend)
        _require(self.workers >= 0, "inbox", "workers", ">= 0", self.workers)
        _require(1 <= self.batch <= 1000, "inbox", "batch", "1-1000", self.batch)
        _require(0 <= self.linger_ms <= 1000, "inbox", "linger_ms", "0-1000", self.linger_ms)
        _require(0 <= self.worker_nice <= 19, "inbox", "worker_nice", "0-19", self.worker_nice)
        _require(self.max_attempts >= 1, "inbox", "max_attempts", ">= 1", self.max_attempts)
        _require(self.dedup_ttl_s >= 60, "inbox", "dedup_ttl_s", ">= 60", self.dedup_ttl_s)


@dataclass(frozen=True)
class CardsConfig:
    """Cards orderbot sends unasked (suspected duplicates always go to agents)."""

    new_order: bool = False
    new_order_to: str = "agent"
    dead_letter_cards: int = 5
    dead_letter_window_s: int = 600

    def check(self) -> None:
        try:
            parse_audience(self.new_order_to)
        except ValueError as error:
            raise ConfigError(f"config: [cards] new_order_to: {error}") from None
        _require(self.dead_letter_cards >= 0, "cards", "dead_letter_cards", ">= 0",
                 self.dead_letter_cards)
        _require(self.dead_letter_window_s >= 10, "cards", "dead_letter_window_s", ">= 10",
                 self.dead_letter_window_s)


@dataclass(frozen=True)
class IntentConfig:
    """Chat message understanding (``core.intent``)."""

    ask_back_below: float = 0.6  # confidence under which the bot asks instead of acting

    def check(self) -> None:
        _require(0.0 <= self.ask_back_below <= 1.0, "intent", "ask_back_below", "0.0-1.0",
                 self.ask_back_below)


@dataclass(frozen=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    log: LogConfig = field(default_factory=LogConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)
    intent: IntentConfig = field(default_factory=IntentConfig)
    health: HealthConfig = field(default_factory=HealthConfig)
    gating: GatingConfig = field(default_factory=GatingConfig)
    demo: DemoConfig = field(default_factory=DemoConfig)
    dingtalk: DingTalkSettings = field(default_factory=DingTalkSettings)
    wecom: WeComSettings = field(default_factory=WeComSettings)
    wecom_bot: WeComBotSettings = field(default_factory=WeComBotSettings)
    cards: CardsConfig = field(default_factory=CardsConfig)
    routing: RoutingConfig = field(default_factory=RoutingConfig)
    timers: TimersConfig = field(default_factory=TimersConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    tasks: TasksConfig = field(default_factory=TasksConfig)
    shops: tuple[ShopConfig, ...] = ()
    people: tuple[PersonConfig, ...] = ()
    substitutes: tuple[SubstituteConfig, ...] = ()


def _check_wecom(wecom: WeComSettings) -> None:
    _require(wecom.enabled or not wecom.kf_enabled, "wecom", "kf_enabled",
             "enabled = true as well (微信客服 uses the app's callback and token)", True)
    if not wecom.enabled:
        return
    for key in ("corp_id", "secret", "token"):
        _require(bool(getattr(wecom, key)), "wecom", key, "a value when enabled", "")
    key_ok = len(wecom.encoding_aes_key) == 43
    _require(key_ok, "wecom", "encoding_aes_key", "the 43-character EncodingAESKey",
             f"{len(wecom.encoding_aes_key)} characters")
    _require(wecom.max_clock_skew_s >= 0, "wecom", "max_clock_skew_s", ">= 0 (0 disables)",
             wecom.max_clock_skew_s)
    if wecom.kf_enabled:
        _require(bool(wecom.kf_open_kfids), "wecom", "kf_open_kfids",
                 "at least one open_kfid when kf_enabled", wecom.kf_open_kfids)
        _require(wecom.kf_max_age_s >= 60, "wecom", "kf_max_age_s", ">= 60",
                 wecom.kf_max_age_s)


def _check_wecom_bot(bot: WeComBotSettings) -> None:
    if not bot.enabled:
        return
    for key in ("bot_id", "secret"):
        _require(bool(getattr(bot, key)), "wecom_bot", key, "a value when enabled", "")
    _require(bot.ws_url.startswith(("wss://", "ws://")), "wecom_bot", "ws_url",
             "a ws:// or wss:// URL", bot.ws_url)
    for key in ("heartbeat_s", "reconnect_base_s", "ack_timeout_s", "update_window_s",
                "leader_ttl_s"):
        _require(getattr(bot, key) > 0, "wecom_bot", key, "> 0", getattr(bot, key))
    _require(bot.reconnect_max_s >= bot.reconnect_base_s, "wecom_bot", "reconnect_max_s",
             ">= reconnect_base_s", bot.reconnect_max_s)
    _require(bot.missed_pings >= 1, "wecom_bot", "missed_pings", ">= 1", bot.missed_pings)


def _check_routing(routing: RoutingConfig) -> None:
    from core.routing import RoutingError

    _require(routing.stalled_after_h > 0, "routing", "stalled_after_h", "> 0",
             routing.stalled_after_h)
    _require(routing.stalled_scan_s >= 0, "routing", "stalled_scan_s", ">= 0 (0: off)",
             routing.stalled_scan_s)
    _require(routing.prompt_ttl_s >= 10, "routing", "prompt_ttl_s", ">= 10",
             routing.prompt_ttl_s)
    try:
        routing.table()
    except RoutingError as error:
        raise ConfigError(f"config: [routing] {error}") from None


def _check_timers(timers: TimersConfig) -> None:
    _require(timers.backend in ("", "sql", "redis"), "timers", "backend",
             "'sql', 'redis' or empty (same as [inbox] backend)", timers.backend)
    _require(timers.lease_s >= 1, "timers", "lease_s", ">= 1", timers.lease_s)
    _require(1 <= timers.batch <= 5000, "timers", "batch", "1-5000", timers.batch)
    _require(10 <= timers.max_sleep_ms <= 1000, "timers", "max_sleep_ms", "10-1000",
             timers.max_sleep_ms)
    _require(1 <= timers.parallel <= 32, "timers", "parallel", "1-32", timers.parallel)


def _check_substitutes(entries: tuple[SubstituteConfig, ...]) -> None:
    for index, entry in enumerate(entries):
        _require(bool(entry.sku.strip()), f"substitutes[{index}]", "sku", "a non-empty SKU",
                 entry.sku)


def _check_dingtalk(dingtalk: DingTalkSettings) -> None:
    if dingtalk.enabled:
        for key in ("client_id", "client_secret"):
            _require(bool(getattr(dingtalk, key)), "dingtalk", key, "a value when enabled", "")


def _check_shops(shops: tuple[ShopConfig, ...]) -> None:
    from integrations.channels.registry import names

    seen: set[tuple[str, str]] = set()
    for index, shop in enumerate(shops):
        where = f"shops[{index}]"
        _require(shop.channel in names(), where, "channel", f"one of {', '.join(names())}",
                 shop.channel)
        _require(bool(shop.shop_id), where, "shop_id", "a non-empty id", shop.shop_id)
        _require((shop.channel, shop.shop_id) not in seen, where, "shop_id",
                 "unique per channel", shop.shop_id)
        seen.add((shop.channel, shop.shop_id))
        _require(shop.poll_interval_s >= 10, where, "poll_interval_s", ">= 10",
                 shop.poll_interval_s)


_CHECKS: dict[str, Any] = {"wecom": _check_wecom, "wecom_bot": _check_wecom_bot,
                           "dingtalk": _check_dingtalk,
                           "shops": _check_shops, "routing": _check_routing,
                           "timers": _check_timers, "substitutes": _check_substitutes}


def _require(ok: bool, section: str, key: str, expected: str, got: object) -> None:
    if not ok:
        raise ConfigError(f"config: [{section}] {key}: expected {expected}, got {got!r}")


def load_config(path: Path | None = None, environ: Mapping[str, str] | None = None) -> Config:
    """Read, merge and validate; raises ``ConfigError`` on the first problem."""
    environ = os.environ if environ is None else environ
    raw = _read_toml(path if path is not None else _default_path())
    for (section, key), value in _env_overrides(environ).items():
        raw.setdefault(section, {})[key] = value
    config: Config = _build(Config, raw, "")
    for part in dataclasses.fields(config):
        section = getattr(config, part.name)
        check = getattr(section, "check", None)
        if check:
            check()
        if part.name in _CHECKS:
            _CHECKS[part.name](section)
    return config


def _default_path() -> Path | None:
    local = Path("config.toml")
    return local if local.is_file() else None


def _read_toml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config: file not found: {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"config: {path} is not valid TOML: {error}") from None


def _env_overrides(environ: Mapping[str, str]) -> dict[tuple[str, str], str]:
    overrides: dict[tuple[str, str], str] = {}
    for name, value in environ.items():
        if name.startswith(ENV_PREFIX) and "__" in name:
            section, _, key = name[len(ENV_PREFIX):].lower().partition("__")
            overrides[(section, key)] = value
    return overrides


def _build(cls: type[Any], raw: object, where: str) -> Any:
    """Make dataclass ``cls`` from a TOML table, checking keys and types recursively."""
    label = f"[{where}]" if where else "top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"config: {label}: expected a table, got {type(raw).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ConfigError(f"config: unknown key {_name(where, unknown[0])}"
                          f" (known: {', '.join(sorted(known))})")
    values = {}
    for name, value in raw.items():
        hint = hints[name]
        child = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(hint):
            values[name] = _build(hint, value, child)  # type: ignore[arg-type]
        else:
            values[name] = _coerce(hint, value, where, name)
    return cls(**values)


def _name(section: str, key: str) -> str:
    return f"[{section}] {key}" if section else f"[{key}]"


def _coerce(hint: Any, value: object, section: str, key: str) -> Any:
    """Check a TOML value against a field type; environment strings are parsed first."""
    optional = isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)
    base = next(a for a in typing.get_args(hint) if a is not type(None)) if optional else hint
    origin = typing.get_origin(base) or base
    if optional and value in ("", None):
        return None
    if isinstance(value, str) and origin is not str:
        value = _parse_env(origin, value)
    item = (typing.get_args(base) or (None,))[0]
    if origin in (list, tuple) and dataclasses.is_dataclass(item):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"config: {_name(section, key)}: expected an array of tables")
        built = [_build(item, entry, f"{key}[{i}]")  # type: ignore[arg-type]
                 for i, entry in enumerate(value)]
        return tuple(built) if origin is tuple else built
    ok = _is_instance(origin, value)
    if ok and origin in (list, tuple):
        items: list[Any] = list(value)  # type: ignore[call-overload]
        ok = all(isinstance(v, (typing.get_args(base) or (str,))[0]) for v in items)
        value = tuple(items) if origin is tuple else items
    if not ok:
        raise ConfigError(f"config: {_name(section, key)}: expected {_type_name(base)}, got "
                          f"{value!r}")
    return float(value) if origin is float else value  # type: ignore[arg-type]


def _is_instance(origin: Any, value: object) -> bool:
    if origin is bool:
        return isinstance(value, bool)
    if origin is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if origin is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if origin in (list, tuple):
        return isinstance(value, list | tuple)
    return isinstance(value, origin)


def _parse_env(origin: Any, text: str) -> object:
    lowered = text.strip().lower()
    if origin is bool:
        return {"true": True, "1": True, "yes": True, "false": False, "0": False,
                "no": False}.get(lowered, text)
    if origin in (int, float):
        try:
            return origin(text.strip())
        except ValueError:
            return text
    if origin in (list, tuple):
        return [part.strip() for part in text.split(",") if part.strip()]
    return text


def _type_name(hint: Any) -> str:
    names = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}
    origin = typing.get_origin(hint) or hint
    return names.get(origin, "a list" if origin in (list, tuple) else str(hint))
