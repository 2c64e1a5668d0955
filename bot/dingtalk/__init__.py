"""Orderbot DingTalk adapter: stream client, frame parsing, cards, OpenAPI client."""
