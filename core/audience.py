"""Who an unasked card goes to: everyone holding a role, or one named conversation.

Configured as text (``[cards] new_order_to``): a role name (``agent``: every person with the
role, on every enabled chat platform they are on) or ``platform:address`` for one conversation
(``wecom:group:ops``, ``dingtalk:group:cid123``, ``webchat:zhangsan``).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.people import Role, parse_roles

CHAT_PLATFORMS = ("webchat", "dingtalk", "wecom")


@dataclass(frozen=True, slots=True)
class Audience:
    role: Role | None = None
    platform: str = ""
    conversation: str = ""


def parse_audience(text: str) -> Audience:
    """Raises ``ValueError`` (naming what is allowed) on anything else."""
    platform, colon, address = text.strip().partition(":")
    if not colon:
        (role,) = parse_roles([platform])  # an unknown role raises UnknownRoleError
        return Audience(role=role)
    if platform not in CHAT_PLATFORMS or not address:
        raise ValueError(f"expected a role or platform:address with platform one of "
                         f"{', '.join(CHAT_PLATFORMS)}, got {text!r}")
    return Audience(platform=platform, conversation=address)
