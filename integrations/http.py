"""One shared way to call other systems over HTTP: timeouts, bounded retries with backoff.

Retries cover transport errors, 429 and 5xx. A platform that reports throttling inside a 200
body (most Chinese open platforms do) raises ``RateLimitedError`` from its adapter and gets the
same backoff by passing ``retry_on`` to ``call_with_retry``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp

log = logging.getLogger("orderbot.http")
T = TypeVar("T")

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)


class UpstreamError(Exception):
    """The other system failed in a way worth retrying (transport, 429, 5xx)."""


class RateLimitedError(UpstreamError):
    """The other system asked us to slow down; ``retry_after`` seconds if it said."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def new_session(timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(timeout=timeout, raise_for_status=False)


async def call_with_retry(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = 4,
    base_delay: float = 0.5,
    max_delay: float = 20.0,
    retry_on: tuple[type[BaseException], ...] = (UpstreamError,),
) -> T:
    """Run ``call`` until it succeeds or ``attempts`` are used; full-jitter exponential backoff."""
    for attempt in range(1, attempts + 1):
        try:
            return await call()
        except retry_on as error:
            if attempt == attempts:
                raise
            delay = _delay(error, attempt, base_delay, max_delay)
            log.warning("retrying after %.2fs (attempt %d/%d): %s", delay, attempt, attempts,
                        error)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _delay(error: BaseException, attempt: int, base: float, cap: float) -> float:
    if isinstance(error, RateLimitedError) and error.retry_after is not None:
        return min(error.retry_after, cap)
    return random.uniform(0, min(cap, base * 2 ** (attempt - 1)))  # noqa: S311 (jitter)


async def fetch_json(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> Any:
    """One request; transport errors, 429 and 5xx become ``UpstreamError`` (retryable)."""
    try:
        async with session.request(method, url, **kwargs) as response:
            if response.status == 429:
                after = response.headers.get("Retry-After")
                raise RateLimitedError(f"{url}: 429", float(after) if after else None)
            if response.status >= 500:
                raise UpstreamError(f"{url}: HTTP {response.status}")
            response.raise_for_status()
            return await response.json(content_type=None)
    except (aiohttp.ClientConnectionError, TimeoutError) as error:
        raise UpstreamError(f"{url}: {type(error).__name__}: {error}") from error
