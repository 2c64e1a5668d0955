"""The state machine: every legal edge, a sample of illegal ones, holds, presale, reconcile."""

from __future__ import annotations

import itertools

import pytest

from core.errors import IllegalTransitionError, OrderHeldError
from core.states import EXITS, LABELS, TRANSITIONS, OrderState, check_transition, reconcile

S = OrderState
LEGAL = [(src, dst) for src, targets in TRANSITIONS.items() for dst in sorted(targets)]
ILLEGAL = [(s, d) for s, d in itertools.product(S, S) if d not in TRANSITIONS[s]]


def test_every_state_has_a_label_and_a_row() -> None:
    assert set(LABELS) == set(S) == set(TRANSITIONS)
    assert LABELS[S.PICKED_UP] == "已揽收"


@pytest.mark.parametrize(("source", "target"), LEGAL, ids=lambda s: s.value)
def test_every_legal_edge_passes(source: OrderState, target: OrderState) -> None:
    check_transition(source, target)


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (S.PENDING_PAYMENT, S.ALLOCATED),
        (S.PAID, S.PICKED_UP),  # a packed parcel is not shipped: needs a label and a scan
        (S.LABEL_PRINTED, S.IN_TRANSIT),
        (S.DELIVERED, S.PAID),
        (S.CANCELLED, S.PAID),
        (S.REFUNDED, S.AFTER_SALE),
        (S.COMPLETED, S.DELIVERED),
        (S.DEPOSIT_PAID, S.AWAITING_ALLOCATION),
    ],
    ids=lambda s: s.value,
)
def test_illegal_edges_name_both_states(source: OrderState, target: OrderState) -> None:
    with pytest.raises(IllegalTransitionError) as info:
        check_transition(source, target)
    assert str(info.value) == f"illegal transition {source.value} -> {target.value}"


def test_all_illegal_pairs_are_refused() -> None:
    for source, target in ILLEGAL:
        with pytest.raises(IllegalTransitionError):
            check_transition(source, target)
    assert len(ILLEGAL) + len(LEGAL) == len(S) ** 2


def test_terminal_states_go_nowhere() -> None:
    assert TRANSITIONS[S.CANCELLED] == TRANSITIONS[S.REFUNDED] == frozenset()


def test_presale_path() -> None:
    check_transition(S.PENDING_PAYMENT, S.DEPOSIT_PAID)
    check_transition(S.DEPOSIT_PAID, S.PAID)
    check_transition(S.DEPOSIT_PAID, S.REFUNDED)  # deposit refunded, balance never paid
    assert reconcile(S.DEPOSIT_PAID, S.AWAITING_ALLOCATION) == (S.PAID, S.AWAITING_ALLOCATION)


def test_a_held_order_cannot_advance() -> None:
    with pytest.raises(OrderHeldError) as info:
        check_transition(S.AWAITING_ALLOCATION, S.ALLOCATED, holds=("ADDRESS_MISSING",))
    assert info.value.holds == ("ADDRESS_MISSING",)
    assert "ADDRESS_MISSING" in str(info.value)


@pytest.mark.parametrize("exit_state", sorted(EXITS & TRANSITIONS[S.PAID]))
def test_a_held_order_may_leave_the_path(exit_state: OrderState) -> None:
    check_transition(S.PAID, exit_state, holds=("SUSPECTED_DUPLICATE",))


def test_resolved_holds_release_the_order() -> None:
    check_transition(S.AWAITING_ALLOCATION, S.ALLOCATED, holds=())


def test_reconcile_skips_states_the_channel_never_reported() -> None:
    assert reconcile(S.PENDING_PAYMENT, S.IN_TRANSIT) == (
        S.PAID, S.AWAITING_ALLOCATION, S.ALLOCATED, S.LABEL_PRINTED, S.PICKED_UP, S.IN_TRANSIT,
    )  # fmt: skip


def test_reconcile_ignores_a_channel_that_lags_behind_us() -> None:
    assert reconcile(S.ALLOCATED, S.PAID) == ()
    assert reconcile(S.PAID, S.PAID) == ()


def test_reconcile_never_takes_correction_edges() -> None:
    # out_for_delivery -> in_transit is a deliberate correction, not a forward observation
    assert reconcile(S.IN_TRANSIT, S.OUT_FOR_DELIVERY) == (S.OUT_FOR_DELIVERY,)
    assert reconcile(S.OUT_FOR_DELIVERY, S.IN_TRANSIT) == ()


def test_reconcile_refuses_unreachable_observations() -> None:
    with pytest.raises(IllegalTransitionError):
        reconcile(S.REFUNDED, S.CANCELLED)


def test_reconcile_respects_holds_but_allows_exits() -> None:
    with pytest.raises(OrderHeldError):
        reconcile(S.PAID, S.IN_TRANSIT, holds=("NO_CARRIER",))
    assert reconcile(S.PAID, S.CANCELLED, holds=("NO_CARRIER",)) == (S.CANCELLED,)
    assert reconcile(S.IN_TRANSIT, S.REFUNDED, holds=("X",))[-1] is S.REFUNDED
