"""The fast percent-decoder agrees with urllib on everything, including its edge cases."""

from __future__ import annotations

import urllib.parse

import pytest

from integrations.channels.payload import unquote_plus

CASES = [
    urllib.parse.quote_plus('{"tid":"E1","name":"王小明","note":"50% off + free"}'),
    "a+b%20c", "100%", "%zz", "%E4%B8", "plain", "", "back\\slash%20x", "%5C%22",
    urllib.parse.quote_plus("emoji 🛋️ and tab\t and newline\n"),
]


@pytest.mark.parametrize("text", CASES)
def test_same_as_urllib(text: str) -> None:
    assert unquote_plus(text) == urllib.parse.unquote_plus(text)
