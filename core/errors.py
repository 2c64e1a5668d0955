"""Domain errors raised by core. Every name ends in ``Error``; messages name the culprit."""

from __future__ import annotations


class DomainError(Exception):
    """Base class of every error core raises on purpose."""


class InvalidOrderError(DomainError):
    """An order (or its canonical JSON) breaks the contract; ``field`` names where."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class IllegalTransitionError(DomainError):
    """The state machine has no way from ``source`` to ``target``."""

    def __init__(self, source: str, target: str) -> None:
        super().__init__(f"illegal transition {source} -> {target}")
        self.source = source
        self.target = target


class OrderHeldError(DomainError):
    """Open blocking anomalies hold the order, so it may not advance."""

    def __init__(self, source: str, target: str, holds: tuple[str, ...]) -> None:
        super().__init__(
            f"order is held by {', '.join(holds)}: cannot advance {source} -> {target}"
        )
        self.source = source
        self.target = target
        self.holds = holds


class UnknownStatusError(DomainError):
    """A channel or carrier status word has no entry in its mapping table."""

    def __init__(self, source: str, status: str) -> None:
        super().__init__(f"unknown status {status!r} from {source}")
        self.source = source
        self.status = status


class InvalidAmountError(DomainError):
    """A money amount could not be read as an exact number of fen."""


class TemporaryFailureError(Exception):
    """Something outside failed in a way that may pass (an API timing out, throttling, 5xx):
    retry the work later instead of dead-lettering it as bad input."""


class ConnectionLostError(TemporaryFailureError):
    """The database connection died under a unit of work (a restart, a failover). Before its
    COMMIT the work is rolled back with the connection; during COMMIT the outcome is unknown,
    so only idempotent work (ingestion: upserts by key) is simply run again."""


class ConcurrencyError(DomainError):
    """Someone else changed the order first (optimistic version check lost)."""
