"""The platform-neutral chat model, as the platform adapters import it.

The dataclasses and their JSON forms live in ``core.chat`` (handlers build cards and may not
import ``bot``); this module re-exports them and adds the inbox envelopes that carry inbound
items from a platform adapter to the workers.
"""

from __future__ import annotations

from datetime import datetime

from core.chat import PLATFORMS as PLATFORMS
from core.chat import ActionRef as ActionRef
from core.chat import Button as Button
from core.chat import ButtonStyle as ButtonStyle
from core.chat import Card as Card
from core.chat import CardAction as CardAction
from core.chat import InboundMessage as InboundMessage
from core.chat import Platform as Platform
from core.chat import card_action_from_json as card_action_from_json
from core.chat import card_action_to_json as card_action_to_json
from core.chat import card_from_json as card_from_json
from core.chat import card_to_json as card_to_json
from core.chat import format_payload as format_payload
from core.chat import inbound_from_json as inbound_from_json
from core.chat import inbound_to_json as inbound_to_json
from core.chat import parse_payload as parse_payload
from handlers.ports import Envelope

KIND_RECEIVE_TEXT = "receive_text"
KIND_CLICK_CARD = "click_card"


def inbound_envelope(message: InboundMessage, dedup_key: str, received_at: datetime) -> Envelope:
    """The inbox item for an inbound text; ``dedup_key`` is the platform's delivery id."""
    return Envelope(kind=KIND_RECEIVE_TEXT, dedup_key=dedup_key,
                    payload=inbound_to_json(message), received_at=received_at)


def card_action_envelope(action: CardAction, dedup_key: str, received_at: datetime) -> Envelope:
    """The inbox item for a card click; ``dedup_key`` is the platform's delivery id."""
    return Envelope(kind=KIND_CLICK_CARD, dedup_key=dedup_key,
                    payload=card_action_to_json(action), received_at=received_at)
