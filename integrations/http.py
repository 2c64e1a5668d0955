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
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import aiohttp

from core.errors import TemporaryFailureError

log = logging.getLogger("orderbot.http")
T = TypeVar("T")

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=15, connect=5)


class UpstreamError(TemporaryFailureError):
    """The other system failed in a way worth retrying (transport, 429, 5xx)."""


class ClientRequestError(Exception):
    """The other system refused the request (4xx): retrying the same request will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


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


def _where(url: str) -> str:
    """The URL without its query string: queries often carry tokens that must not be logged."""
    return url.split("?", 1)[0]


async def fetch_json(
    session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any
) -> Any:
    """One request; transport errors, 429 and 5xx become ``UpstreamError`` (retryable).
    Error messages name the endpoint, never its query (tokens travel there)."""
    where = _where(url)
    try:
        async with session.request(method, url, **kwargs) as response:
            if response.status == 429:
                after = response.headers.get("Retry-After")
                raise RateLimitedError(f"{where}: 429", _seconds(after))
            if response.status >= 500:
                raise UpstreamError(f"{where}: HTTP {response.status}")
            if response.status >= 400:
                raise ClientRequestError(f"{where}: HTTP {response.status}", response.status)
            return await response.json(content_type=None)
    except (aiohttp.ClientConnectionError, TimeoutError) as error:
        raise UpstreamError(f"{where}: {type(error).__name__}") from error


def _seconds(retry_after: str | None) -> float | None:
    """``Retry-After`` in seconds; the HTTP-date form is read too."""
    if not retry_after:
        return None
    try:
        return max(0.0, float(retry_after))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(retry_after)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
