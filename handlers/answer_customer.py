"""Use case: a customer asks where their order is (chat message or ``GET /api/track``).

Rate-limited per sender first (queries per minute, proof attempts per hour: the last 4 digits
cannot be guessed by trying; both counted in one call). Then: read the orders the query names
(one statement, no transaction: asking writes nothing), decide per order who may see it
(``core.customer_query.grant``), bind a chat sender who just proved a phone (the only write),
refresh parcels whose trace is older than ``fresh_s`` from the providers (failover; when all
are down, answer from the stored trace and say how old it is), and render the answer in plain
Chinese with phone and address masked. A stranger gets the same neutral reply whether the
order exists or not.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.customer_query import (
    Access,
    Freshness,
    Grant,
    OrderFacts,
    Query,
    grant,
    parse_query,
    phone_digest,
)
from core.customer_replies import (
    HELP,
    NEED_PROOF,
    NO_MATCH,
    PHONE_NONE,
    RATE_LIMITED,
    render,
)
from core.masking import mask_text
from core.tracking import FINAL, TrackingUnavailableError
from handlers.track_parcel import refresh_parcel
from handlers.tracking_ports import Limit, TrackingDeps

log = logging.getLogger("orderbot.customers")


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asks: a chat sender (may be bound to a phone) or an HTTP client (never bound)."""

    platform: str
    sender_id: str
    can_bind: bool = True


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    shown: tuple[str, ...] = ()  # order keys the asker was shown
    limited: bool = False


async def answer_customer(asker: Asker, text: str, deps: TrackingDeps, *, now: datetime,
                          last4: str | None = None) -> Answer:
    settings, who = deps.settings, f"{asker.platform}:{asker.sender_id}"
    query = parse_query(text, last4)
    limits = [Limit(f"q:{who}", settings.query_limit, 60)]
    if not query.empty and query.last4:
        limits.append(Limit(f"proof:{who}", settings.proof_attempts, 3600))
    if not await deps.limiter.hit(limits):
        return Answer(RATE_LIMITED, limited=True)
    if query.empty:
        return Answer(HELP)
    visible, asked_proof = await _visible(asker, query, deps, now)
    if not visible:
        return Answer(_refusal(query, asked_proof))
    visible, freshness = await _fresh(deps, visible, now)
    log.info("customer %s shown %s", mask_text(who), ", ".join(o.key for o in visible))
    return Answer(render(visible, now, freshness), tuple(o.key for o in visible))


def _refusal(query: Query, asked_proof: bool) -> str:
    if query.phone and not query.refs:
        return PHONE_NONE
    if query.last4 is None or asked_proof:
        return NEED_PROOF
    return NO_MATCH


async def _visible(asker: Asker, query: Query, deps: TrackingDeps, now: datetime
                   ) -> tuple[list[OrderFacts], bool]:
    """Orders the asker may see, binding a chat sender who just proved a phone; and whether
    some order still needs the last-4 proof (so the reply asks for it). Reads without a
    transaction; only a new binding writes."""
    orders = await deps.reader.find(query.refs, query.phone)
    digests = {o.key: phone_digest(o.phone) for o in orders}
    bound = await deps.reader.bound(asker.platform, asker.sender_id,
                                    [d for d in digests.values() if d]) \
        if asker.can_bind else set()
    visible, need_proof = [], False
    binds: dict[str, str] = {}  # phone digest -> how it was proven
    for order in orders:
        decision = grant(order.phone, query, bound=digests[order.key] in bound)
        need_proof = need_proof or decision.access is Access.NEED_PROOF
        if decision.access is not Access.GRANTED:
            continue
        visible.append(order)
        digest = digests[order.key]
        if asker.can_bind and digest and decision.grant in (Grant.LAST4, Grant.PHONE):
            binds.setdefault(digest, f"{decision.grant.value}:{order.key}")
    if binds:
        async with deps.new_uow() as uow:
            for digest, via in binds.items():
                await uow.customers.bind(asker.platform, asker.sender_id, digest, via=via,
                                         at=now)
            await uow.commit()
    return visible, need_proof


async def _fresh(deps: TrackingDeps, orders: Sequence[OrderFacts], now: datetime
                 ) -> tuple[list[OrderFacts], Freshness | None]:
    """Ask the providers again for open parcels not checked within ``fresh_s``. When none can
    answer, keep what is stored and report since when it is known."""
    cutoff = now - timedelta(seconds=deps.settings.fresh_s)
    stale = [view.parcel for order in orders for view in order.parcels
             if view.parcel.state not in FINAL
             and (view.parcel.checked_at is None or view.parcel.checked_at < cutoff)]
    if not stale:
        return list(orders), None
    oldest: datetime | None = None
    for parcel in stale:
        try:
            await refresh_parcel(deps, parcel, now=now)
        except TrackingUnavailableError as error:
            log.warning("answering from stored trace of %s: %s", parcel.tracking_no, error)
            known = parcel.checked_at or parcel.registered_at
            oldest = known if oldest is None else min(oldest, known)
        except LookupError:
            continue
    reread = {o.key: o for o in await deps.reader.find([o.key for o in orders], None)}
    return [reread.get(o.key, o) for o in orders], Freshness(oldest) if oldest else None
