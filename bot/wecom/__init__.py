"""Orderbot WeCom (企业微信) adapter: callback crypto, parsing, cards, API client."""
