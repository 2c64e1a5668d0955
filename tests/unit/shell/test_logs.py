"""Logs: one event per line, personal data masked, secrets dropped."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import JsonFormatter, MaskingFilter, TextFormatter


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("orderbot.test", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(rec, key, value)
    assert MaskingFilter().filter(rec)
    return rec


def test_json_is_one_line_with_masked_data() -> None:
    rec = record("buyer %s called about %s", "13812345678", "3900000000000001",
                 receiver_address="浙江省杭州市西湖区文三路90号", app_secret="s3cr3t")
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    doc = json.loads(line)
    assert doc["event"] == "buyer 138****5678 called about 3900000000000001"
    assert doc["logger"] == "orderbot.test" and doc["level"] == "INFO"
    assert "文三路" not in doc["receiver_address"]
    assert doc["app_secret"] == "[redacted]"
    assert "s3cr3t" not in line and "13812345678" not in line


def test_text_format_masks_too() -> None:
    line = TextFormatter().format(record("phone=%s", "+86 138 1234 5678", access_token="tok-123"))
    assert "138****5678" in line and "tok-123" not in line


@pytest.mark.parametrize("key", ["token", "client_secret", "password", "encoding_aes_key"])
def test_secret_like_fields_are_redacted(key: str) -> None:
    rec = record("x", **{key: "value-that-must-not-leak"})
    assert getattr(rec, key) == "[redacted]"
