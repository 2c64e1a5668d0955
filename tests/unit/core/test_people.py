"""The staff table: platform ids -> people and roles; unknown senders are customers."""

from __future__ import annotations

import pytest

from bot.people_config import PersonConfig, build_directory
from core.people import Customer, Directory, Person, Role, UnknownRoleError, parse_roles


def directory() -> Directory:
    return build_directory([
        PersonConfig(id="zhangsan", name="张三", roles=("agent",), dingtalk_user_id="dt-001",
                     wecom_user_id="ZhangSan"),
        PersonConfig(id="lisi", name="李四", roles=("Supervisor", "agent")),
    ])


def test_platform_ids_find_the_same_person() -> None:
    people = directory()
    assert people.staff("dingtalk", "dt-001") == people.staff("wecom", "ZhangSan")
    assert people.staff("webchat", "zhangsan") is people.get("zhangsan")
    assert people.staff("wecom", "dt-001") is None  # ids are per platform


def test_unknown_sender_is_a_customer() -> None:
    assert directory().identify("wecom", "wm-buyer") == Customer("wecom", "wm-buyer")


def test_roles_are_parsed_strictly() -> None:
    assert parse_roles(["Supervisor", " ops "]) == {Role.SUPERVISOR, Role.OPS}
    with pytest.raises(UnknownRoleError, match="boss"):
        parse_roles(["boss"])


def test_role_check() -> None:
    lisi = directory().get("lisi")
    assert lisi is not None and lisi.has_role(Role.SUPERVISOR) and lisi.has_role("")
    assert not lisi.has_role(Role.OPS)
    assert [p.id for p in directory().with_role(Role.AGENT)] == ["zhangsan", "lisi"]


def test_a_platform_id_may_not_name_two_people() -> None:
    a = Person("a", "A", frozenset(), wecom_user_id="X")
    b = Person("b", "B", frozenset(), wecom_user_id="X")
    with pytest.raises(ValueError, match="both"):
        Directory([a, b])
    with pytest.raises(ValueError, match="twice"):
        Directory([a, a])


def test_names_of_removed_people_fall_back_to_the_id() -> None:
    assert directory().name_of("zhangsan") == "张三"
    assert directory().name_of("gone") == "gone"
