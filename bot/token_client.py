"""What every chat platform API client shares: a borrowed or owned aiohttp session, and an
access token cached until ``refresh_margin_s`` before it expires, fetched by one caller at a
time (a burst of sends must not fetch fifty tokens). Subclasses say how a token is fetched."""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self

import aiohttp

from integrations.http import new_session


class TokenClient(ABC):
    def __init__(self, api_base: str, session: aiohttp.ClientSession | None, *,
                 refresh_margin_s: int, clock: Callable[[], float] = time.monotonic,
                 attempts: int = 4, base_delay: float = 0.5) -> None:
        self._base = api_base.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._refresh_margin_s = refresh_margin_s
        self._clock = clock
        self._attempts, self._base_delay = attempts, base_delay
        self._token = ""
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = new_session()
        return self._session

    async def access_token(self) -> str:
        """The cached token, fetched again ``refresh_margin_s`` before it expires."""
        async with self._token_lock:
            if self._token and self._clock() < self._token_expires:
                return self._token
            token, expires_in = await self._fetch_token()
            self._token = token
            self._token_expires = self._clock() + expires_in - self._refresh_margin_s
            return self._token

    @abstractmethod
    async def _fetch_token(self) -> tuple[str, int]:
        """A fresh token and its lifetime in seconds, from the platform."""

    def _invalidate(self, token: str) -> None:
        """Forget ``token`` (the platform said it expired) unless it was already replaced."""
        if self._token == token:
            self._token, self._token_expires = "", 0.0
