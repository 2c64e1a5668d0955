"""Fakes of the outside world (chat platforms) for e2e tests: small aiohttp apps on 127.0.0.1:0."""
