"""WeCom: decrypted callback XML -> neutral items; neutral Card -> template_card JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.model import Button, Card, CardAction, InboundMessage, format_payload
from bot.wecom.cards import (
    card_message,
    render_markdown,
    render_template_card,
    update_replace_name,
    update_whole_card,
)
from bot.wecom.crypto import WeComDecryptError
from bot.wecom.messages import parse_callback, split_task_id, task_id_for

DATA = Path(__file__).parents[2] / "data" / "wecom"
VECTORS = json.loads((DATA / "official_vectors.json").read_text("utf-8"))


def test_official_text_message() -> None:
    parsed = parse_callback(VECTORS["B"]["post"]["plaintext"])
    assert parsed is not None
    assert parsed.item == InboundMessage(
        platform="wecom", message_id="1456453720", sender_id="ChenJiaShun", sender_name="",
        conversation_id="ChenJiaShun", is_group=False, text="你好", mentions_bot=True,
        at=datetime.fromtimestamp(1476422779, UTC))
    assert parsed.dedup_key == "wecom:msg:1456453720"


def test_official_cdata_text_message() -> None:
    parsed = parse_callback(VECTORS["A"]["post"]["plaintext"])
    assert parsed is not None
    assert isinstance(parsed.item, InboundMessage)
    assert (parsed.item.sender_id, parsed.item.text) == ("mycreate", "hello")


def test_doc_template_card_event() -> None:
    parsed = parse_callback((DATA / "template_card_event.xml").read_text("utf-8"))
    assert parsed is not None
    action = parsed.item
    assert isinstance(action, CardAction)
    assert (action.card_id, action.card_version) == ("taskid111", 0)
    assert (action.payload, action.action, action.ref) == ("key111", "", None)
    assert (action.actor_id, action.update_token) == ("FromUser", "ResponseCode")
    assert parsed.dedup_key == "wecom:card:ResponseCode"


def test_our_card_event_round_trip() -> None:
    payload = format_payload("A42", "merge")
    xml = (f"<xml><ToUserName>c</ToUserName><FromUserName>lisi</FromUserName>"
           f"<CreateTime>1700000000</CreateTime><MsgType>event</MsgType>"
           f"<Event>template_card_event</Event><EventKey>{payload}</EventKey>"
           f"<TaskId>{task_id_for('dup-O123', 4)}</TaskId><CardType>button_interaction</CardType>"
           f"<ResponseCode>rc9</ResponseCode></xml>")
    parsed = parse_callback(xml)
    assert parsed is not None
    assert isinstance(parsed.item, CardAction)
    assert (parsed.item.card_id, parsed.item.card_version, parsed.item.action) == \
        ("dup-O123", 4, "merge")


@pytest.mark.parametrize(("task_id", "expected"), [
    ("c1@3", ("c1", 3)), ("a@b@12", ("a@b", 12)), ("plain", ("plain", 0)), ("@5", ("@5", 0)),
    ("c1@x", ("c1@x", 0)),
])
def test_split_task_id(task_id: str, expected: tuple[str, int]) -> None:
    assert split_task_id(task_id) == expected


@pytest.mark.parametrize("xml", [
    "<xml><MsgType>image</MsgType></xml>",
    "<xml><MsgType>event</MsgType><Event>enter_agent</Event></xml>",
    "<xml><MsgType>event</MsgType><Event>template_card_menu_event</Event></xml>",
])
def test_other_types_are_ignored(xml: str) -> None:
    assert parse_callback(xml) is None


def test_text_without_msgid_is_malformed() -> None:
    with pytest.raises(WeComDecryptError, match="MsgId"):
        parse_callback("<xml><MsgType>text</MsgType><FromUserName>u</FromUserName></xml>")


CARD = Card(
    card_id="dup-O123", title="疑似重复订单 #O123", body="**两单** 相似，请确认",
    fields=(("客户", "张*"), ("金额", "¥199.00")),
    buttons=(Button("merge", "act:v1:A42:merge", "合并", "primary", "supervisor"),
             Button("ignore", "act:v1:A42:ignore", "忽略"),
             Button("cancel", "act:v1:A42:cancel", "取消订单", "danger")),
    status="待处理", version=2)


def test_render_template_card() -> None:
    assert render_template_card(CARD, source="订单助手") == {
        "card_type": "button_interaction",
        "task_id": "dup-O123@2",
        "source": {"desc": "订单助手", "desc_color": 0},
        "main_title": {"title": "疑似重复订单 #O123", "desc": "待处理"},
        "sub_title_text": "两单 相似，请确认",
        "horizontal_content_list": [{"keyname": "客户", "value": "张*"},
                                    {"keyname": "金额", "value": "¥199.00"}],
        "button_list": [{"text": "合并", "style": 1, "key": "act:v1:A42:merge"},
                        {"text": "忽略", "style": 2, "key": "act:v1:A42:ignore"},
                        {"text": "取消订单", "style": 3, "key": "act:v1:A42:cancel"}],
    }


def test_message_send_body() -> None:
    body = card_message(CARD, ["zhangsan", "lisi"], 1000002)
    assert body["touser"] == "zhangsan|lisi"
    assert (body["msgtype"], body["agentid"]) == ("template_card", 1000002)
    assert body["template_card"]["task_id"] == "dup-O123@2"


def test_card_without_buttons_goes_as_markdown() -> None:
    card = Card(card_id="n1", title="日报", body="今日 12 单", fields=(("异常", "0"),))
    body = card_message(card, ["u"], 1)
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"] == render_markdown(card) == "**日报**\n今日 12 单\n> 异常: 0"
    with pytest.raises(ValueError, match="button"):
        render_template_card(card)


def test_limits_are_applied() -> None:
    buttons = tuple(Button(f"b{i}", f"act:v1:X:b{i}", f"按钮{i}") for i in range(8))
    card = Card(card_id="c", title="标" * 50, buttons=buttons,
                fields=tuple((f"k{i}", "v") for i in range(9)))
    rendered = render_template_card(card)
    assert len(rendered["button_list"]) == 6
    assert len(rendered["horizontal_content_list"]) == 6
    assert len(rendered["main_title"]["title"]) == 36


def test_update_bodies() -> None:
    assert update_replace_name(["lisi"], 7, "rc1", "已由 李四 合并") == {
        "userids": ["lisi"], "agentid": 7, "response_code": "rc1",
        "button": {"replace_name": "已由 李四 合并"}}
    newer = Card(card_id=CARD.card_id, title=CARD.title, buttons=CARD.buttons,
                 status="已由 张三 确认 10:42", version=3)
    body = update_whole_card(["lisi"], 7, "rc1", newer, sent_version=2)
    assert body["template_card"]["task_id"] == "dup-O123@2"
    assert body["template_card"]["main_title"]["desc"] == "已由 张三 确认 10:42"
