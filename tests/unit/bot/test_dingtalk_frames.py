"""DingTalk stream frames -> neutral items (documented samples in tests/data/dingtalk)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.dingtalk.frames import card_callback, from_millis, robot_message

DATA = Path(__file__).parents[2] / "data" / "dingtalk"
NOW = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def frame_data(name: str) -> dict[str, Any]:
    frame = json.loads((DATA / name).read_text("utf-8"))
    data: dict[str, Any] = json.loads(frame["data"])  # data is a JSON string in the frame
    return data


def test_robot_text_message() -> None:
    message = robot_message(frame_data("robot_message_frame.json"), NOW)
    assert message is not None
    assert (message.platform, message.message_id, message.sender_id, message.sender_name) == \
        ("dingtalk", "msgOv5Jd1f7", "staff-001", "张三")
    assert (message.conversation_id, message.is_group, message.mentions_bot, message.text) == \
        ("cidGroup001==", True, True, "急单 1234")
    assert message.at == from_millis(1695283635765, NOW)


def test_single_chat_addresses_the_bot() -> None:
    data = frame_data("robot_message_frame.json") | {"conversationType": "1",
                                                     "isInAtList": False}
    message = robot_message(data, NOW)
    assert message is not None
    assert (message.is_group, message.mentions_bot) == (False, True)
    assert message.conversation_id == "staff-001"  # a 1:1 chat is answered by user id


def test_non_text_is_ignored() -> None:
    data = frame_data("robot_message_frame.json") | {"msgtype": "picture",
                                                     "content": {"downloadCode": "x"}}
    data.pop("text")
    assert robot_message(data, NOW) is None


def test_robot_message_without_ids_is_refused() -> None:
    data = frame_data("robot_message_frame.json")
    data.pop("msgId")
    with pytest.raises(ValueError, match="msgId"):
        robot_message(data, NOW)


def test_documented_card_callback_does_not_match_our_payloads() -> None:
    action = card_callback(frame_data("card_callback_frame.json"), "frame-1", NOW)
    assert (action.card_id, action.actor_id, action.callback_id) == \
        ("53d6dd", "04574258341072934", "frame-1")
    assert (action.payload, action.action, action.card_version, action.ref) == ("", "", 0, None)


def test_our_card_callback() -> None:
    data = frame_data("card_callback_frame.json")
    params = {"payload": "act:v1:A42:merge", "version": "7"}
    data["content"] = json.dumps({"cardPrivateData": {"actionIds": ["b"], "params": params}})
    action = card_callback(data, "frame-2", NOW)
    assert (action.action, action.card_version, action.payload) == ("merge", 7,
                                                                     "act:v1:A42:merge")


def test_bad_millis_fall_back() -> None:
    assert from_millis("x", NOW) == NOW
    assert from_millis(None, NOW) == NOW
