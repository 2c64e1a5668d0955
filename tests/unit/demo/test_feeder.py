"""The feeder's shell: demo shops, config checks, order choice, its log line, the ctx."""

from __future__ import annotations

import logging
import random
from datetime import timedelta

import pytest
from aiohttp import web

from bot.config import ConfigError, _build
from bot.demo import DEMO_CHANNELS, DemoConfig
from bot.demo.feeder import DEMO, DEMO_TARGET, DemoFeeder, DemoTarget, demo_ctx, demo_shops
from bot.demo.generator import OrderGenerator, Stage, Variant
from bot.logs import MaskingFilter
from integrations.channels.youzan.signing import split_secret
from tests.unit.demo.helpers import NOW


def test_one_shop_per_channel_with_fresh_secrets() -> None:
    demo = DemoConfig(enabled=True)
    first, second = demo_shops(demo), demo_shops(demo)
    assert [s.channel for s in first] == list(DEMO_CHANNELS)
    assert all(s.webhook_secret and len(s.webhook_secret) >= 24 for s in first)
    assert not {s.webhook_secret for s in first} & {s.webhook_secret for s in second}
    youzan = next(s for s in first if s.channel == "youzan")
    assert split_secret(youzan.webhook_secret)[0] == "demo-youzan-client"
    assert all(s.webhook_secret not in repr(s) for s in first)


def test_no_shops_when_disabled() -> None:
    assert demo_shops(DemoConfig()) == []


def test_config_table_and_environment_strings_build_a_demo_config() -> None:
    raw = {"enabled": "true", "interval_s": "0.5", "channels": "youzan, jd", "seed": "7"}
    demo = _build(DemoConfig, raw, "demo")
    assert demo == DemoConfig(enabled=True, interval_s=0.5, channels=("youzan", "jd"), seed=7)
    demo.check()


@pytest.mark.parametrize(("values", "key"), [
    ({"interval_s": 0.0}, "interval_s"), ({"channels": ("douyin",)}, "channels"),
    ({"enabled": True, "channels": ()}, "channels"), ({"unhealthy_share": 1.5}, "unhealthy_share"),
])
def test_wrong_values_name_their_key(values: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\[demo\] {key}"):
        DemoConfig(**values).check()  # type: ignore[arg-type]


@pytest.mark.parametrize(("host", "url"), [("0.0.0.0", "http://127.0.0.1:8080"),
                                           ("127.0.0.1", "http://127.0.0.1:8080"),
                                           ("::", "http://127.0.0.1:8080")])
def test_the_target_is_reachable_from_this_machine(host: str, url: str) -> None:
    assert DemoTarget.local(host, 8080, ()).base_url == url


def feeder(seed: int = 1) -> DemoFeeder:
    demo = DemoConfig(enabled=True, seed=seed)
    return DemoFeeder(demo, DemoTarget("http://127.0.0.1:1", tuple(demo_shops(demo))))


def test_orders_move_on_after_they_were_pushed() -> None:
    fed = feeder()
    first = fed.next_order(NOW)
    assert first.stage is Stage.PAID
    fed._pending.append(first)  # what a 2xx answer does
    assert all(fed.next_order(NOW).stage is not Stage.SHIPPED for _ in range(30))  # too soon
    later = NOW + timedelta(minutes=1)
    assert any(fed.next_order(later).stage is Stage.SHIPPED for _ in range(60))


def test_a_seeded_feeder_replays() -> None:
    assert [feeder(4).next_order(NOW) for _ in range(5)] == [
        feeder(4).next_order(NOW) for _ in range(5)]


def test_the_log_line_never_shows_the_phone(caplog: pytest.LogCaptureFixture) -> None:
    from bot.demo.feeder import _log_push

    order = OrderGenerator(random.Random(3)).order("pdd", NOW, Variant.INVALID_PHONE)
    healthy = OrderGenerator(random.Random(3)).order("jd", NOW)
    with caplog.at_level(logging.INFO, logger="orderbot.demo"):
        _log_push(order, "demo-pdd", 200)
        _log_push(healthy, "demo-jd", 401)
    for record in caplog.records:
        MaskingFilter().filter(record)
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert order.phone not in text and healthy.phone not in text
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.WARNING]
    assert "invalid_phone" in caplog.records[0].getMessage()
    assert healthy.order_id in caplog.records[1].getMessage()


async def test_ctx_does_nothing_without_its_keys_or_when_disabled() -> None:
    for app in (web.Application(), _app(DemoConfig(enabled=False))):
        context = demo_ctx(app)
        await anext(context)
        with pytest.raises(StopAsyncIteration):
            await anext(context)


def _app(demo: DemoConfig) -> web.Application:
    app = web.Application()
    app[DEMO] = demo
    app[DEMO_TARGET] = DemoTarget("http://127.0.0.1:1", ())
    return app
