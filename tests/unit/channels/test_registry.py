"""The channel registry and the shared webhook request type."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.states import OrderState
from integrations.channels import registry
from integrations.channels.base import WebhookRequest
from tests.fakes.channels import RECEIVED_AT

CHANNELS = ("douyin", "jd", "pdd", "pos", "taobao", "wechat_shop", "youzan")


def test_every_channel_is_registered_under_its_own_name() -> None:
    assert registry.names() == CHANNELS
    for name in CHANNELS:
        adapter = registry.get(name)
        assert adapter.name == name and adapter.statuses.channel == name


def test_unknown_channel_lists_the_known_ones() -> None:
    with pytest.raises(registry.UnknownChannelError, match=r"'tmall'.*douyin, jd, pdd, pos"):
        registry.get("tmall")


def test_webhook_request_headers_are_case_insensitive_and_frozen() -> None:
    request = WebhookRequest(headers={"Event-Sign": "abc"}, query={"nonce": "1"}, body=b"{}",
                             received_at=RECEIVED_AT)
    assert request.header("event-sign") == request.header("EVENT-SIGN") == "abc"
    assert request.header("missing") is None and request.query["nonce"] == "1"
    with pytest.raises(TypeError):
        request.headers["x"] = "y"  # type: ignore[index]


def test_webhook_request_needs_an_aware_arrival_time() -> None:
    with pytest.raises(ValueError, match="received_at"):
        WebhookRequest(headers={}, query={}, body=b"", received_at=datetime(2026, 1, 2))


CARRIER_ONLY = {OrderState.PICKED_UP, OrderState.IN_TRANSIT, OrderState.OUT_FOR_DELIVERY}


@pytest.mark.parametrize("name", CHANNELS)
def test_no_channel_status_claims_a_carrier_scan(name: str) -> None:
    """DESIGN: a channel's "shipped" (waybill uploaded) is label_printed; picked_up and the
    transit states need a real carrier scan, which only the logistics feed reports."""
    table = registry.get(name).statuses.table
    assert not CARRIER_ONLY & set(table.values()), sorted(
        word for word, state in table.items() if state in CARRIER_ONLY)
