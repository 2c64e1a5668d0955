"""Structured logs: one event per line, readable text by default, JSON in production.

Every record passes a masking filter first: phone numbers in messages and in extra fields are
masked, fields that look like secrets are dropped. Loggers are per concern
(``orderbot.ingest``, ``orderbot.cards`` ...).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from core.masking import mask_address, mask_text

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
_SECRET_WORDS = ("secret", "token", "password", "aes_key", "signature", "authorization")
_ADDRESS_WORDS = ("address",)


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class MaskingFilter(logging.Filter):
    """Masks personal data and drops secrets before any handler sees the record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_text(record.getMessage())
        record.args = None
        for key, value in _extras(record).items():
            lowered = key.lower()
            if any(word in lowered for word in _SECRET_WORDS):
                setattr(record, key, "[redacted]")
            elif isinstance(value, str):
                masked = mask_address(value) if any(w in lowered for w in _ADDRESS_WORDS) else value
                setattr(record, key, mask_text(masked or ""))
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_info:
            doc["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(doc, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        return line + "".join(f" {k}={v}" for k, v in extras.items()) if extras else line


def configure(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "sqlalchemy.engine", "apscheduler", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
