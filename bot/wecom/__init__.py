"""Orderbot WeCom (企业微信) adapter: the self-built app (callback crypto, parsing, cards, API
client) and the smart robot's long connection (``longconn``, ``aibot_*``, ``robot``)."""
