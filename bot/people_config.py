"""Config ``[[people]]``: the staff table (people, roles, platform ids) as TOML declares it.

Example::

    [[people]]
    id = "zhangsan"              # ours; also the web chat id
    name = "张三"
    roles = ["agent", "supervisor"]
    dingtalk_user_id = "0123456789"   # DingTalk userId (staffId) of the robot's messages
    wecom_user_id = "ZhangSan"        # WeCom UserID

A sender that no entry names is treated as a customer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.people import Directory, Person, parse_roles


@dataclass(frozen=True)
class PersonConfig:
    id: str
    name: str
    roles: tuple[str, ...] = ()
    dingtalk_user_id: str = ""
    wecom_user_id: str = ""


def to_person(entry: PersonConfig) -> Person:
    """One config entry -> ``Person``; raises ValueError on an empty id or an unknown role."""
    if not entry.id.strip():
        raise ValueError("[[people]] id must not be empty")
    return Person(id=entry.id.strip(), name=entry.name.strip() or entry.id.strip(),
                  roles=parse_roles(entry.roles),
                  dingtalk_user_id=entry.dingtalk_user_id.strip(),
                  wecom_user_id=entry.wecom_user_id.strip())


def build_directory(entries: Iterable[PersonConfig]) -> Directory:
    """The staff directory the handlers and the web chat use."""
    return Directory(to_person(entry) for entry in entries)
