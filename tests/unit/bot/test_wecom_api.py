"""WeCom API client against the fake WeCom: token cache, refresh on 42001, backoff on 45009."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.model import Button, Card
from bot.wecom.api import WeComApi, WeComApiError
from bot.wecom.settings import WeComSettings
from integrations.http import RateLimitedError, UpstreamError
from tests.fakes.wecom import FakeWeCom

CARD = Card(card_id="dup-O123", title="疑似重复订单", version=2,
            buttons=(Button("merge", "act:v1:A42:merge", "合并", "primary"),))
SEND = "/cgi-bin/message/send"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWeCom]:
    async with FakeWeCom() as server:
        yield server


@pytest.fixture
async def api(fake: FakeWeCom) -> AsyncIterator[WeComApi]:
    settings = WeComSettings(enabled=True, corp_id=fake.corp_id, agent_id=1000002,
                             secret=fake.secret, api_base=fake.base_url,
                             webhook_key=fake.webhook_key)
    async with WeComApi(settings, attempts=3, base_delay=0.01) as client:
        yield client


async def test_card_send_uses_one_cached_token(fake: FakeWeCom, api: WeComApi) -> None:
    sent = await api.send_card(["zhangsan", "lisi"], CARD, source="订单助手")
    await api.send_text(["zhangsan"], "你好")
    assert sent.response_code.startswith("rc-")
    assert fake.tokens_issued == 1
    first = fake.calls(SEND)[0]
    assert first.body["touser"] == "zhangsan|lisi"
    assert first.body["template_card"]["task_id"] == "dup-O123@2"
    assert first.body["template_card"]["button_list"][0]["key"] == "act:v1:A42:merge"


async def test_expired_token_is_refreshed_and_retried_once(fake: FakeWeCom, api: WeComApi
                                                           ) -> None:
    await api.send_text(["u"], "1")
    fake.expire_tokens()
    await api.send_markdown(["u"], "**2**")
    assert fake.tokens_issued == 2
    assert len(fake.calls(SEND)) == 3  # 1, then 2 refused with 42001, then 2 again


async def test_token_refresh_before_expiry(fake: FakeWeCom) -> None:
    now = [0.0]
    settings = WeComSettings(corp_id=fake.corp_id, secret=fake.secret, api_base=fake.base_url)
    async with WeComApi(settings, clock=lambda: now[0]) as api:
        await api.access_token()
        now[0] = 7200 - 301
        await api.access_token()
        assert fake.tokens_issued == 1
        now[0] = 7200 - 299
        await api.access_token()
        assert fake.tokens_issued == 2


async def test_rate_limit_backs_off_and_succeeds(fake: FakeWeCom, api: WeComApi) -> None:
    fake.fail_next(SEND, errcode=45009)
    fake.fail_next(SEND, http_status=503)
    await api.send_text(["u"], "hi")
    assert len(fake.calls(SEND)) == 3


async def test_persistent_rate_limit_surfaces(fake: FakeWeCom, api: WeComApi) -> None:
    fake.fail_next(SEND, errcode=45009, times=3)
    with pytest.raises(RateLimitedError):
        await api.send_text(["u"], "hi")
    fake.fail_next(SEND, http_status=503, times=3)
    with pytest.raises(UpstreamError):
        await api.send_text(["u"], "hi")


async def test_other_errcodes_are_not_retried(fake: FakeWeCom, api: WeComApi) -> None:
    fake.fail_next(SEND, errcode=60020)
    with pytest.raises(WeComApiError) as caught:
        await api.send_text(["u"], "hi")
    assert caught.value.errcode == 60020
    assert len(fake.calls(SEND)) == 1
    assert "access_token" not in str(caught.value)


async def test_update_template_card(fake: FakeWeCom, api: WeComApi) -> None:
    await api.update_card_buttons(["lisi"], "rc-9", "已合并")
    newer = Card(card_id=CARD.card_id, title=CARD.title, buttons=CARD.buttons, status="已处理",
                 version=3)
    await api.update_card(["lisi"], "rc-10", newer, sent_version=2)
    first, second = fake.calls("/cgi-bin/message/update_template_card")
    assert first.body == {"userids": ["lisi"], "agentid": 1000002, "response_code": "rc-9",
                          "button": {"replace_name": "已合并"}}
    assert second.body["template_card"]["task_id"] == "dup-O123@2"


async def test_webhook_send(fake: FakeWeCom, api: WeComApi) -> None:
    await api.webhook_send({"msgtype": "markdown", "markdown": {"content": "**日报**"}})
    fake.fail_next("/cgi-bin/webhook/send", errcode=45009)
    await api.webhook_send({"msgtype": "text", "text": {"content": "x"}})
    assert len(fake.calls("/cgi-bin/webhook/send")) == 3
    with pytest.raises(WeComApiError):
        await api.webhook_send({"msgtype": "text", "text": {"content": "x"}}, key="wrong")


async def test_bad_secret_is_an_api_error(fake: FakeWeCom) -> None:
    settings = WeComSettings(corp_id=fake.corp_id, secret="wrong", api_base=fake.base_url)
    async with WeComApi(settings) as api:
        with pytest.raises(WeComApiError, match="40001"):
            await api.send_text(["u"], "hi")
