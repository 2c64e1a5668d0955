"""Raw channel payloads as received, before any parsing: what webhooks, pollers, the CLI and
dead-letter replays hand to ingestion."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from core.clock import parse_iso

CANONICAL_JSON = "application/x-orderbot-canonical+json"  # a body that is canonical orders


@dataclass(frozen=True, slots=True)
class RawPayload:
    """``shop`` names the configured shop it belongs to (its secrets decrypt pushes);
    ``query``/``headers`` are the parts of a webhook request a platform signs or encrypts with
    (kept so a dead-lettered push can be replayed)."""

    channel: str
    source: str  # how it came: "webhook", "poll", "cli", "replay"
    body: bytes
    content_type: str | None
    received_at: datetime
    shop: str | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    _digest: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Hashed once: the webhook, the snapshot and every order's arrival all ask for it.
        object.__setattr__(self, "_digest", hashlib.sha256(self.body).hexdigest())

    def meta(self) -> dict[str, object]:
        """What besides the body is needed to process it again."""
        return {"channel": self.channel, "source": self.source, "shop": self.shop,
                "query": dict(self.query), "headers": dict(self.headers)}

    @property
    def digest(self) -> str:
        """SHA-256 of the body: the snapshot's address and the webhook dedup key."""
        return self._digest

    @property
    def origin(self) -> str:
        """The actor recorded on events and dead letters: ``webhook:taobao``."""
        return f"{self.source}:{self.channel}"


def to_envelope(payload: RawPayload) -> dict[str, object]:
    """JSON-safe form for the inbox (the body may be GBK CSV or binary: base64)."""
    return payload.meta() | {"body": base64.b64encode(payload.body).decode("ascii"),
                             "content_type": payload.content_type,
                             "received_at": payload.received_at.isoformat()}


def from_envelope(data: Mapping[str, object]) -> RawPayload:
    """Inverse of ``to_envelope``; a malformed envelope raises ``ValueError``."""
    try:
        return RawPayload(
            channel=str(data["channel"]), source=str(data["source"]),
            body=base64.b64decode(str(data["body"]), validate=True),
            content_type=None if data.get("content_type") is None else str(data["content_type"]),
            received_at=parse_iso(str(data["received_at"]), "received_at"),
            shop=None if data.get("shop") is None else str(data["shop"]),
            query=_strings(data.get("query")), headers=_strings(data.get("headers")),
        )
    except (KeyError, binascii.Error) as error:
        raise ValueError(f"malformed payload envelope: {error!r}") from None


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {str(k): str(v) for k, v in value.items()}
