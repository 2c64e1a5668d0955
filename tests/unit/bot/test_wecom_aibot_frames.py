"""Smart-robot long-connection frames: the shapes of doc 101463/101027 and the official SDK
(WecomTeam/aibot-node-sdk ``src/types``), parsed into neutral items; samples in-line below."""

from __future__ import annotations

from typing import Any

import pytest

from bot.model import CardAction, InboundMessage
from bot.wecom import aibot_frames as frames

AT = 1_700_000_000.0


def click(event: dict[str, Any], **body: Any) -> dict[str, Any]:
    return {"cmd": "aibot_event_callback", "headers": {"req_id": "req-9"},
            "body": {"msgid": "CAIQ16HMjQYY", "create_time": 1700000000, "aibotid": "AIBOTID",
                     "chattype": "single", "from": {"userid": "ZhangSan"}, "msgtype": "event",
                     "event": event} | body}


def test_subscribe_ping_and_acks() -> None:
    sub = frames.subscribe("BOTID", "s3cret")
    assert sub["cmd"] == "aibot_subscribe" and sub["body"] == {"bot_id": "BOTID",
                                                               "secret": "s3cret"}
    assert sub["headers"]["req_id"].startswith("aibot_subscribe_")
    assert frames.ping()["cmd"] == "ping" and "body" not in frames.ping()
    ack = frames.ack_of({"headers": {"req_id": "ping_1_ab"}, "errcode": 0, "errmsg": "ok"})
    assert ack == frames.Ack("ping_1_ab", 0, "ok") and ack.ok
    assert frames.ack_of({"cmd": "aibot_msg_callback", "headers": {"req_id": "x"}}) is None


def test_click_details_nested_as_documented_or_flat_as_in_the_sdk_typings() -> None:
    detail = {"card_type": "button_interaction", "event_key": "act:v1:od-1:refresh",
              "task_id": "od-1@4@12"}
    nested = click({"eventtype": "template_card_event", "template_card_event": detail})
    flat = click({"eventtype": "template_card_event", **detail})
    for received in (nested, flat):
        parsed = frames.parse_callback(received, AT)
        assert parsed is not None and isinstance(parsed.item, CardAction)
        action = parsed.item
        assert parsed.dedup_key == "wecom_bot:event:CAIQ16HMjQYY"
        assert (action.card_id, action.card_version, action.action, action.actor_id) == \
            ("od-1", 4, "refresh", "ZhangSan")
        assert frames.parse_update_token(action.update_token) == (AT, "od-1@4@12", "req-9")


def test_voice_is_text_and_other_kinds_are_ignored() -> None:
    voice = {"cmd": "aibot_msg_callback", "headers": {"req_id": "r"},
             "body": {"msgid": "m1", "chattype": "single", "from": {"userid": "LiSi"},
                      "msgtype": "voice", "voice": {"content": "查单 1234"}}}
    parsed = frames.parse_callback(voice, AT)
    assert parsed is not None and isinstance(parsed.item, InboundMessage)
    assert (parsed.item.text, parsed.item.at.timestamp()) == ("查单 1234", AT)
    image = voice | {"body": voice["body"] | {"msgtype": "image", "image": {"url": "u"}}}
    assert frames.parse_callback(image, AT) is None
    assert frames.parse_callback(click({"eventtype": "enter_chat"}), AT) is None
    assert frames.event_type(click({"eventtype": "disconnected_event"})) == "disconnected_event"


@pytest.mark.parametrize(("body", "missing"), [
    ({"from": {"userid": "u"}, "msgtype": "text", "text": {"content": "x"}}, "msgid"),
    ({"msgid": "m", "from": {}, "msgtype": "text", "text": {"content": "x"}}, "userid"),
    ({"msgid": "m", "chattype": "group", "from": {"userid": "u"}, "msgtype": "text"}, "chatid"),
])
def test_missing_fields_are_errors(body: dict[str, Any], missing: str) -> None:
    with pytest.raises(ValueError, match=f"^{missing}: missing"):
        frames.parse_callback({"cmd": "aibot_msg_callback", "body": body}, AT)


def test_task_ids_and_tokens_that_are_not_ours() -> None:
    assert frames.split_task_id("od-1@2") == ("od-1", 2)
    assert frames.split_task_id("someone-elses") == ("someone-elses", 0)
    assert frames.parse_update_token("") is None
    assert frames.parse_update_token("rc-from-the-self-built-app") is None
