"""Custom-order facts read from the order itself, for orders that arrive from a channel.

A channel push carries no spec form, but a made-to-order line is known by its SKU (config
``[health] custom_skus``: SKU -> category) and buyers state the measurements in the order
remark (买家留言: "定制尺寸：长度 320cm，进深 55cm"). ``custom_from_order`` turns those into
``CustomSpec`` facts: each spec field is found by the words that name it
(``spec_labels``: field -> words) followed by a number and an optional unit; ``*_cm`` fields
convert mm/m to centimetres. No attachments arrive this way (files come from the custom order
form), so rules that need one still ask for it. Pure: order and tables in, facts out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from core.health.facts import CustomSpec, SpecValue
from core.order import Order

DEFAULT_SPEC_LABELS: Mapping[str, tuple[str, ...]] = {
    "depth_cm": ("进深", "深度"), "length_cm": ("长度",), "width_cm": ("宽度",),
    "height_cm": ("高度",),
}  # fmt: skip
_NUMBER = r"\s*[:：=]?\s*(\d+(?:\.\d+)?)\s*(厘米|公分|毫米|cm|mm|CM|MM|米|m|M)?"
_TO_CM = {"毫米": 0.1, "mm": 0.1, "米": 100.0, "m": 100.0}


def read_spec(text: str, labels: Mapping[str, Sequence[str]]) -> dict[str, SpecValue]:
    """Measurements named in ``text``: the first number after any word of each field."""
    spec: dict[str, SpecValue] = {}
    for name, words in labels.items():
        for word in words:
            match = re.search(re.escape(word) + _NUMBER, text)
            if match is None:
                continue
            value = float(match.group(1))
            unit = (match.group(2) or "").lower()
            if name.endswith("_cm"):
                value *= _TO_CM.get(unit, 1.0)
            spec[name] = round(value, 1)
            break
    return spec


def custom_from_order(order: Order, skus: Mapping[str, str],
                      labels: Mapping[str, Sequence[str]]) -> tuple[CustomSpec, ...]:
    """One spec per made-to-order line (its category from ``skus``), read from the remark."""
    made = [line for line in order.lines if line.sku in skus]
    if not made:
        return ()
    spec = read_spec(order.remark or "", labels)
    return tuple(CustomSpec(line.sku, skus[line.sku], spec) for line in made)
