"""Gated actions typed in chat: "申请取消 1234 客户不要了" -> (cancel, "1234", "客户不要了");
"申请解冻 1234 生产已确认" proposes to release the order's freeze (its open C-class anomaly).

An agent proposes; nothing runs until a supervisor confirms on the card (``core.gating``).
Only an explicit command word at the start counts, so an ordinary sentence that happens to
contain "取消" never files a proposal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.gating import GateKind
from core.lookup import order_ref

_MENTION = re.compile(r"@\S+")
COMMANDS: dict[str, GateKind] = {"申请取消": GateKind.CANCEL, "建议取消": GateKind.CANCEL,
                                 "申请解冻": GateKind.RELEASE}


@dataclass(frozen=True, slots=True)
class GateCommand:
    kind: GateKind
    ref: str  # an order reference as typed ("1234" or "taobao:1234")
    reason: str  # may be empty: the proposal rule then asks for one


def parse_gate_command(text: str) -> GateCommand | None:
    """The command in ``text``, or None when it is not one. A command without an order
    reference is still a command (``ref`` ""), so the person can be told what is missing."""
    stripped = _MENTION.sub(" ", text).strip()
    word = next((w for w in COMMANDS if stripped.startswith(w)), None)
    if word is None:
        return None
    rest = stripped[len(word):].strip()
    ref = order_ref(rest) or ""
    reason = rest.split(ref, 1)[1] if ref else rest
    return GateCommand(COMMANDS[word], ref, reason.strip(" ：:，,。"))
