"""A question the bot asked after a tap, whose answer is the person's next message.

Chat cards take input poorly (DingTalk and WeCom template cards have no free text field that
works on every client), so "已补录" asks in the conversation: "请直接回复收货地址". The next text
that person sends there (before ``expires_at``) is the fix value, linked to the anomaly and
card the question was about. One pending question per conversation: a newer one replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Prompt:
    platform: str
    conversation: str
    person_id: str
    card_id: str
    anomaly_id: int
    field: str  # what the answer is: "address", "phone", ...
    expires_at: datetime


QUESTIONS = {
    "address": "请直接回复正确的收货地址（省 市 区 + 详细地址），{minutes} 分钟内有效。",
    "phone": "请直接回复正确的收件人手机号，{minutes} 分钟内有效。",
    "tax_id": "请直接回复正确的统一社会信用代码（18 位），{minutes} 分钟内有效。",
    "invoice_title": "请直接回复发票抬头（公司全称），{minutes} 分钟内有效。",
    "spec": "请直接回复补充的定制规格说明，{minutes} 分钟内有效。",
}
