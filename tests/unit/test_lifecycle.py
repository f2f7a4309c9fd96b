"""Every state × event pair of the lifecycle table: allowed ones reach their target, the rest refuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from radflow.domain.errors import InvalidTransition, ValidationError
from radflow.domain.lifecycle import (
    CANCELLABLE_STATES,
    EVENTS_REQUIRING_REASON,
    HOLDABLE_STATES,
    PREVIOUS,
    TRANSITIONS,
    OrderEvent,
    OrderState,
    allowed_events,
    is_terminal,
)
from radflow.domain.order import Order, Track

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
ALL_PAIRS = [(state, event) for state in OrderState for event in OrderEvent]


def order_in(state: OrderState, *, held_from: OrderState | None = None) -> Order:
    order = Order.receive(by="u1", at=AT, target=timedelta(days=10), id="o1", patient_id="p1",
                          accession_number="A00000001", study_instance_uid="2.25.1", protocol_code="MR-LSPINE",
                          requested_modality="MR", priority=Track.ROUTINE)
    order.state = state  # test set-up only: put the order where the pair starts
    order.held_from = held_from
    order.pull_events()
    return order


@pytest.mark.parametrize(("state", "event"), ALL_PAIRS, ids=[f"{s.value}-{e.value}" for s, e in ALL_PAIRS])
def test_every_state_event_pair(state: OrderState, event: OrderEvent) -> None:
    held_from = OrderState.CHECKED_IN if state is OrderState.ON_HOLD else None
    order = order_in(state, held_from=held_from)
    timeline_before = len(order.transitions)
    target = TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(InvalidTransition):
            order.transition(event, by="u2", at=AT, reason="because")
        assert order.state is state
        assert len(order.transitions) == timeline_before
        assert order.pull_events() == []
        return
    reached = order.transition(event, by="u2", at=AT, reason="because")
    expected = held_from if target == PREVIOUS else target
    assert reached is expected and order.state is expected
    line = order.transitions[-1]
    assert (line.from_state, line.to_state, line.by, line.event) == (state.value, expected.value, "u2", event.value)
    assert [type(e).__name__ for e in order.pull_events()] == ["OrderTransitioned"]


def test_hold_returns_to_where_it_came_from() -> None:
    for origin in HOLDABLE_STATES:
        order = order_in(origin)
        order.transition(OrderEvent.HOLD_PLACED, by="tech", at=AT, reason="pacemaker: radiologist review")
        assert order.state is OrderState.ON_HOLD and order.held_from is origin
        order.transition(OrderEvent.HOLD_CLEARED, by="rad", at=AT)
        assert order.state is origin and order.held_from is None


def test_hold_cleared_without_a_known_origin_is_refused() -> None:
    order = order_in(OrderState.ON_HOLD, held_from=None)
    with pytest.raises(InvalidTransition):
        order.transition(OrderEvent.HOLD_CLEARED, by="rad", at=AT)


def test_cancel_allowed_exactly_before_the_exam_starts() -> None:
    for state in OrderState:
        assert ((state, OrderEvent.CANCEL) in TRANSITIONS) == (state in CANCELLABLE_STATES)
    for started in (OrderState.IN_PROGRESS, OrderState.AWAITING_QC, OrderState.IMAGING_COMPLETED):
        assert started not in CANCELLABLE_STATES


@pytest.mark.parametrize("event", sorted(EVENTS_REQUIRING_REASON))
def test_events_that_need_a_reason_refuse_without_one(event: OrderEvent) -> None:
    source = next(state for (state, e) in TRANSITIONS if e is event)
    order = order_in(source, held_from=OrderState.SCHEDULED)
    with pytest.raises(ValidationError):
        order.transition(event, by="u2", at=AT, reason="  ")
    assert order.state is source


def test_only_cancelled_is_terminal_and_every_state_is_reachable() -> None:
    assert [s for s in OrderState if is_terminal(s)] == [OrderState.CANCELLED]
    targets = {t for t in TRANSITIONS.values() if t != PREVIOUS} | {OrderState.RECEIVED}
    assert targets == set(OrderState)
    assert allowed_events(OrderState.RECEIVED)[:4] == [OrderEvent.CHECKLIST_FAILED, OrderEvent.PROTOCOL_REQUIRED,
                                                       OrderEvent.AUTHORIZATION_REQUIRED,
                                                       OrderEvent.CLEARED_FOR_SCHEDULING]


def test_cancel_records_reason() -> None:
    order = order_in(OrderState.SCHEDULED)
    order.transition(OrderEvent.CANCEL, by="u3", at=AT, reason="patient moved away")
    assert order.cancel_reason == "patient moved away" and order.is_cancelled
