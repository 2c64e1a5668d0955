"""The neutral chat model: payload references and the JSON forms used in envelopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.model import (
    ActionRef,
    Button,
    Card,
    CardAction,
    InboundMessage,
    card_action_envelope,
    card_action_from_json,
    card_action_to_json,
    card_from_json,
    card_to_json,
    format_payload,
    inbound_envelope,
    inbound_from_json,
    inbound_to_json,
    parse_payload,
)

AT = datetime(2026, 11, 23, 10, 42, tzinfo=UTC)


def test_payload_round_trip() -> None:
    payload = format_payload("O-123_4.5", "approve")
    assert payload == "act:v1:O-123_4.5:approve"
    assert parse_payload(payload) == ActionRef("O-123_4.5", "approve")


@pytest.mark.parametrize("payload", [
    "", "act:v1::approve", "act:v2:O1:approve", "act:v1:O1:", "act:v1:O1:Approve",
    "act:v1:O1:approve:extra", "act:v1:O 1:approve", " act:v1:O1:approve",
    "act:v1:O1:approve\n", "act:v1:" + "x" * 65 + ":go", "act:v1:订单:go",
])
def test_unparseable_payload_does_not_match(payload: str) -> None:
    assert parse_payload(payload) is None


def test_parse_payload_tolerates_non_strings() -> None:
    assert parse_payload(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(("ref", "verb"), [("", "go"), ("a:b", "go"), ("O1", "Go"), ("O1", "")])
def test_format_payload_refuses_what_would_not_parse(ref: str, verb: str) -> None:
    with pytest.raises(ValueError, match="action reference"):
        format_payload(ref, verb)


def sample_card() -> Card:
    return Card(
        card_id="dup-O123", title="疑似重复订单 #O123", body="**两单**相似",
        fields=(("客户", "张*"), ("金额", "¥199.00")), image_url="https://img.example/x.png",
        buttons=(Button("merge", format_payload("A42", "merge"), "合并", "primary", "supervisor"),
                 Button("ignore", format_payload("A42", "ignore"), "忽略")),
        status="已由 张三 确认 10:42", version=3)


def test_card_json_round_trip() -> None:
    card = sample_card()
    assert card_from_json(card_to_json(card)) == card


@pytest.mark.parametrize("card_id", ["", "a b", "a:b", "x" * 97, "订单"])
def test_card_id_is_restricted(card_id: str) -> None:
    with pytest.raises(ValueError, match="card_id"):
        Card(card_id=card_id, title="t")


def test_card_version_must_be_positive() -> None:
    with pytest.raises(ValueError, match="version"):
        Card(card_id="c1", title="t", version=0)


def test_inbound_json_round_trip_keeps_utc() -> None:
    local = AT.astimezone(timezone(timedelta(hours=8)))
    message = InboundMessage("dingtalk", "msg1", "u1", "张三", "cid1", True, "急单 1234", True,
                             local)
    assert message.at.tzinfo is UTC
    assert inbound_from_json(inbound_to_json(message)) == message


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        InboundMessage("wecom", "m", "u", "n", "c", False, "t", False, datetime(2026, 1, 1))


def test_card_action_json_round_trip_and_ref() -> None:
    action = CardAction("wecom", "rc-1", "dup-O123", "merge", "act:v1:A42:merge", "zhangsan", 3,
                        AT, update_token="RESPONSE_CODE")
    assert card_action_from_json(card_action_to_json(action)) == action
    assert action.ref == ActionRef("A42", "merge")
    assert "RESPONSE_CODE" not in repr(action)


def test_unknown_platform_is_refused() -> None:
    data = card_action_to_json(CardAction("wecom", "c", "k", "a", "p", "u", 1, AT))
    data["platform"] = "slack"
    with pytest.raises(ValueError, match="platform"):
        card_action_from_json(data)


def test_envelopes() -> None:
    message = InboundMessage("wecom", "m1", "u1", "", "u1", False, "查单 1", False, AT)
    envelope = inbound_envelope(message, "wecom:m1", AT)
    assert (envelope.kind, envelope.dedup_key) == ("receive_text", "wecom:m1")
    assert inbound_from_json(envelope.payload) == message
    action = CardAction("dingtalk", "f1", "c1", "go", "act:v1:X:go", "u", 0, AT)
    envelope = card_action_envelope(action, "dingtalk:f1", AT)
    assert envelope.kind == "click_card"
    assert card_action_from_json(envelope.payload) == action
