"""People and roles: who is staff, what each may do, and how chat platforms name them.

Roles are checked server-side when a click arrives, from this table and never from anything
the click carries. A sender this table does not know is a *customer* (buyers write to the bot
too); a staff-only action from such a sender gets a polite refusal, not an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AGENT = "agent"  # 客服
    SUPERVISOR = "supervisor"  # 组长/主管
    WAREHOUSE = "warehouse"
    PRODUCTION = "production"
    PURCHASING = "purchasing"
    FINANCE = "finance"
    OPS = "ops"


ROLE_LABELS: Mapping[Role, str] = {
    Role.AGENT: "客服", Role.SUPERVISOR: "主管", Role.WAREHOUSE: "仓库", Role.PRODUCTION: "生产",
    Role.PURCHASING: "采购", Role.FINANCE: "财务", Role.OPS: "运营",
}  # fmt: skip

REFUSAL_UNKNOWN_STAFF = ("您好，您还不在 orderbot 的员工名单中，暂时无法使用此功能。"
                         "请联系管理员添加。")


class UnknownRoleError(ValueError):
    """A configured role name is not one of ``Role``."""


@dataclass(frozen=True, slots=True)
class Person:
    """A staff member. ``id`` is ours (also their web chat id); platform ids map to it."""

    id: str
    name: str
    roles: frozenset[Role]
    dingtalk_user_id: str = ""
    wecom_user_id: str = ""

    def has_role(self, role: Role | str) -> bool:
        """True when the person holds ``role``; an empty role means "any staff member"."""
        return not role or Role(role) in self.roles

    def platform_id(self, platform: str) -> str:
        """How ``platform`` addresses this person ("" when they are not on it). The WeCom
        smart robot (``wecom_bot``, long connection) names members by the same UserID."""
        ids = {"webchat": self.id, "dingtalk": self.dingtalk_user_id,
               "wecom": self.wecom_user_id, "wecom_bot": self.wecom_user_id}
        return ids.get(platform, "")


@dataclass(frozen=True, slots=True)
class Customer:
    """A sender the staff table does not know: identified only by platform and sender id."""

    platform: str
    sender_id: str


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    """Configured role names -> roles; an unknown name raises (a typo must not drop a role)."""
    roles: set[Role] = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise UnknownRoleError(f"unknown role {name!r} (known: {known})") from None
    return frozenset(roles)


class Directory:
    """The staff table, indexed by every platform id. Built once from config."""

    def __init__(self, people: Iterable[Person]) -> None:
        self._people: dict[str, Person] = {}
        self._by_platform: dict[tuple[str, str], Person] = {}
        for person in people:
            if person.id in self._people:
                raise ValueError(f"person id {person.id!r} appears twice")
            self._people[person.id] = person
            for platform in ("webchat", "dingtalk", "wecom", "wecom_bot"):
                self._index(platform, person)

    def _index(self, platform: str, person: Person) -> None:
        platform_id = person.platform_id(platform)
        if not platform_id:
            return
        other = self._by_platform.get((platform, platform_id))
        if other is not None:
            raise ValueError(f"{platform} id {platform_id!r} belongs to both {other.id!r} "
                             f"and {person.id!r}")
        self._by_platform[(platform, platform_id)] = person

    @property
    def people(self) -> tuple[Person, ...]:
        return tuple(self._people.values())

    def get(self, person_id: str) -> Person | None:
        return self._people.get(person_id)

    def staff(self, platform: str, sender_id: str) -> Person | None:
        """The staff member behind a platform sender id, or None."""
        return self._by_platform.get((platform, sender_id))

    def identify(self, platform: str, sender_id: str) -> Person | Customer:
        """Staff when the table knows the sender, else a customer."""
        return self.staff(platform, sender_id) or Customer(platform, sender_id)

    def with_role(self, role: Role) -> tuple[Person, ...]:
        return tuple(p for p in self._people.values() if role in p.roles)

    def name_of(self, person_id: str) -> str:
        """The display name of a person id (the id itself when unknown, e.g. a removed person)."""
        person = self._people.get(person_id)
        return person.name if person else person_id
