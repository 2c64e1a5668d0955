"""What the demo adds to the configuration, so `make run` shows every kind of anomaly card.

With ``[demo] enabled`` and nothing configured for them: A-class anomalies escalate after
``escalate_after_s`` (60 s instead of 2 min: the escalation shows while one watches), the
sold-out demo sofa has substitutes, the corner sofa is a made-to-order SKU with a workshop
limit (a conflict rule), and the demo stock snapshot is loaded into ``stock_levels`` at start
(``demo_stock_ctx``). Anything the operator configured wins: a ``[routing]`` rule for "A",
``[[substitutes]]`` of the same SKU, ``[health] custom_skus`` or a custom rule of the same id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime

from aiohttp import web

from bot.config import Config
from bot.demo.data import CUSTOM_SKUS, STOCK_LEVELS, SUBSTITUTES
from bot.health_config import CustomRuleConfig
from bot.routing_config import RouteConfig, SubstituteConfig
from storage.health import load_stock

DEMO_RULE = CustomRuleConfig(id="demo_corner_sofa_depth", category="sofa",
                             when="depth_cm < 60", conflict=True,
                             message="转角沙发进深小于 60cm，工厂工艺做不了（最小 60cm），"
                                     "请生产与买家确认图纸。")


def with_demo(config: Config) -> Config:
    """``config`` plus the demo's routing, substitutes and custom rule (demo on only)."""
    demo = config.demo
    if not demo.enabled:
        return config
    routing = replace(config.routing, rules=(RouteConfig(match="A",
                                                         sla_s=demo.escalate_after_s),
                                             *config.routing.rules))  # theirs apply after
    known = {entry.sku for entry in config.substitutes}
    substitutes = config.substitutes + tuple(SubstituteConfig(sku, alternatives)
                                             for sku, alternatives in SUBSTITUTES.items()
                                             if sku not in known)
    health = config.health
    ids = {rule.id for rule in health.custom}
    health = replace(health, custom_skus={**CUSTOM_SKUS, **health.custom_skus},
                     custom=health.custom + ((DEMO_RULE,) if DEMO_RULE.id not in ids else ()))
    return replace(config, routing=routing, substitutes=substitutes, health=health)


async def demo_stock_ctx(app: web.Application) -> AsyncIterator[None]:
    """``cleanup_ctx`` (after the database): the demo's stock snapshot, when the demo is on."""
    from bot.app import CONFIG, DATABASE  # the composition root's keys (no import cycle)

    if app[CONFIG].demo.enabled:
        async with app[DATABASE].engine.begin() as conn:
            await load_stock(conn, STOCK_LEVELS, at=datetime.now(UTC))
    yield
