"""Card clicks decided in core: verb, role (from the staff table), version; and the helpers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.outbox_sender import Pacer
from core.anomalies import AnomalyCode, open_anomaly
from core.card_views import dead_letter, order_detail, suspected_duplicate
from core.cards import CardRecord, Outcome, decide_click, mark_handled
from core.lookup import order_ref
from core.outbox import Backoff
from core.people import Person, Role
from tests.factories import make_order

AT = datetime(2026, 11, 11, 2, 42, tzinfo=UTC)  # 10:42 in Beijing
AGENT = Person("zs", "张三", frozenset({Role.AGENT}))
BOSS = Person("ls", "李四", frozenset({Role.SUPERVISOR}))
WAREHOUSE = Person("ww", "王五", frozenset({Role.WAREHOUSE}))


def duplicate_card() -> CardRecord:
    anomaly = open_anomaly("jd:1", AnomalyCode.SUSPECTED_DUPLICATE, at=AT, reason="同一买家",
                           data={"other": "taobao:1"})
    return suspected_duplicate("dup-1", replace(anomaly, id=5))


def test_roles_come_from_the_person_not_the_click() -> None:
    card = duplicate_card()
    assert decide_click(card, "not_duplicate", WAREHOUSE, 1, "").outcome is Outcome.FORBIDDEN
    # an agent's 确认重复 proposes the gated merge, a supervisor's decides it (the gate
    # policy checks which, handlers/duplicate_actions); anyone else is refused here
    assert decide_click(card, "confirm_duplicate", WAREHOUSE, 1, "").outcome is \
        Outcome.FORBIDDEN
    assert decide_click(card, "confirm_duplicate", AGENT, 1, "").outcome is Outcome.ACCEPTED
    assert decide_click(card, "confirm_duplicate", BOSS, 1, "").outcome is Outcome.ACCEPTED
    assert decide_click(card, "explode", BOSS, 1, "").outcome is Outcome.UNKNOWN_ACTION


def test_a_handled_card_names_who_handled_it() -> None:
    card = duplicate_card()
    decision = decide_click(card, "not_duplicate", AGENT, 1, "")
    assert decision.spec is not None
    done = mark_handled(card, AGENT, decision.spec, AT)
    assert done.card.status == "已由 张三 确认不是重复 10:42" and done.version == 2
    again = decide_click(done, "not_duplicate", BOSS, 2, "张三")
    assert (again.outcome, again.reply) == (Outcome.STALE, "此卡片已由 张三 处理")
    # a duplicate card keeps its buttons through updates (and WeCom reports the version
    # first sent): its verbs skip the version check, the anomaly and the merge gate decide
    assert decide_click(card, "not_duplicate", AGENT, 7, "").outcome is Outcome.ACCEPTED
    letter = dead_letter("dl-1", 3, "webhook:youzan", "bad json", AT)
    ops = Person("zl", "赵六", frozenset({Role.OPS}))
    stale = decide_click(replace(letter, card=replace(letter.card, version=2)), "handled",
                         ops, 1, "")
    assert stale.outcome is Outcome.STALE


def test_order_detail_card_masks_and_speaks_chinese() -> None:
    card = order_detail("od-1", make_order(3), []).card
    fields = dict(card.fields)
    assert fields["状态"] == "已付款" and fields["收件人"].startswith("张*")
    assert "00000003" not in fields["收件人"] and "文三路" not in fields["地址"]
    assert card.buttons[0].payload == "act:v1:od-1:refresh"


def test_order_reference_in_free_text() -> None:
    assert order_ref("查单 1234567") == "1234567"
    assert order_ref("@orderbot 订单 taobao:39001") == "taobao:39001"
    assert order_ref("你好") is None


def test_backoff_grows_caps_and_jitters() -> None:
    backoff = Backoff(base_s=1, cap_s=8, jitter=0.5, rand=lambda: 1.0)
    assert [backoff.delay(n).total_seconds() for n in (1, 2, 3, 5)] == [1.5, 3.0, 6.0, 12.0]
    assert Backoff(rand=lambda: 0.0).delay(1) == timedelta(seconds=1)


def test_wecom_pacer_allows_30_a_minute_per_recipient() -> None:
    now = [0.0]
    pacer = Pacer(30, clock=lambda: now[0])
    for _ in range(30):
        assert pacer.wait_s("u1") == 0
        pacer.record("u1")
    assert pacer.wait_s("u1") == 60 and pacer.wait_s("u2") == 0
    now[0] = 60.0
    assert pacer.wait_s("u1") == 0
