"""The providers in priority order: the first that answers wins.

A provider that is down (transport error, timeout, 5xx), refuses (its own error code), or
answers with a state code we do not know is skipped and the next one is asked; when every one
fails the caller gets ``TrackingUnavailableError`` naming each failure, and answers from the
last trace it stored (with its age). Providers are tried one after another, never in
parallel: queries are billed per call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from core.carriers import Carrier
from core.errors import DomainError
from core.tracking import TrackingUnavailableError, TrackReport
from integrations.http import ClientRequestError, UpstreamError
from integrations.logistics.base import ProviderRefusedError, TrackingProvider

log = logging.getLogger("orderbot.tracking")


class ProviderChain:
    def __init__(self, providers: Sequence[TrackingProvider]) -> None:
        self.providers = tuple(providers)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.providers)

    async def query(self, carrier: Carrier, tracking_no: str, phone: str | None
                    ) -> TrackReport:
        failures: dict[str, str] = {}
        for provider in self.providers:
            try:
                return await provider.query(carrier, tracking_no, phone)
            except (UpstreamError, ClientRequestError, ProviderRefusedError, DomainError,
                    ValueError) as error:
                failures[provider.name] = str(error) or type(error).__name__
                log.warning("tracking %s %s via %s failed: %s", carrier.code, tracking_no,
                            provider.name, failures[provider.name])
        raise TrackingUnavailableError(failures)

    async def subscribe(self, carrier: Carrier, tracking_no: str, phone: str | None,
                        callback_base: str) -> str | None:
        """Subscribe with the first provider that accepts; its name, or None."""
        for provider in self.providers:
            url = f"{callback_base.rstrip('/')}/callbacks/logistics/{provider.name}"
            try:
                await provider.subscribe(carrier, tracking_no, phone, url)
                return provider.name
            except (UpstreamError, ClientRequestError, ProviderRefusedError) as error:
                log.warning("subscribe %s %s via %s failed: %s", carrier.code, tracking_no,
                            provider.name, error)
        return None

    def provider(self, name: str) -> TrackingProvider | None:
        return next((p for p in self.providers if p.name == name), None)
