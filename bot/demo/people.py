"""The demo's staff, so that `make run` shows every view of the web chat with no config."""

from __future__ import annotations

from bot.people_config import PersonConfig

DEMO_PEOPLE: tuple[PersonConfig, ...] = (
    PersonConfig(id="zhangsan", name="张三 (客服)", roles=("agent",)),
    PersonConfig(id="lisi", name="李四 (组长)", roles=("supervisor", "agent")),
    PersonConfig(id="wangwu", name="王五 (仓库)", roles=("warehouse",)),
    PersonConfig(id="zhaoliu", name="赵六 (运营)", roles=("ops",)),
    PersonConfig(id="sunqi", name="孙七 (生产)", roles=("production",)),  # C: custom orders
)


def demo_people(enabled: bool, configured: tuple[PersonConfig, ...]) -> tuple[PersonConfig, ...]:
    """The configured staff; with the demo on and nobody configured, the demo staff."""
    return DEMO_PEOPLE if enabled and not configured else configured
