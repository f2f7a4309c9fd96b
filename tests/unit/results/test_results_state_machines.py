"""Every state × event of the results area's state machines: an allowed pair reaches its target, any other
raises InvalidTransition and changes nothing (distribution, release hold, follow-up, records request)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain import distribution as dist
from radflow.domain import followup as fu
from radflow.domain import records_request as rr
from radflow.domain import release as rel
from radflow.domain.errors import InvalidTransition

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("state", list(dist.DistributionState))
@pytest.mark.parametrize("event", list(dist.DistributionEvent))
def test_distribution_table_is_the_only_way_a_delivery_moves(state: dist.DistributionState,
                                                              event: dist.DistributionEvent) -> None:
    target = dist.TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(InvalidTransition):
            dist.next_distribution_state(state, event)
    else:
        assert dist.next_distribution_state(state, event) is target


@pytest.mark.parametrize("state", list(rel.HoldState))
@pytest.mark.parametrize("event", list(rel.HoldEvent))
def test_a_hold_only_ends_from_active(state: rel.HoldState, event: rel.HoldEvent) -> None:
    if state is rel.HoldState.ACTIVE:
        assert rel.next_hold_state(state, event) in (rel.HoldState.LIFTED, rel.HoldState.EXPIRED)
    else:
        with pytest.raises(InvalidTransition):
            rel.next_hold_state(state, event)


@pytest.mark.parametrize("state", list(fu.FollowUpState))
@pytest.mark.parametrize("event", list(fu.FollowUpEvent))
def test_follow_up_table(state: fu.FollowUpState, event: fu.FollowUpEvent) -> None:
    target = fu.TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(InvalidTransition):
            fu.next_followup_state(state, event)
    else:
        assert fu.next_followup_state(state, event) is target


def _delivery(state: dist.DistributionState) -> dist.Distribution:
    return dist.Distribution(
        id="d1", key="k", report_id="r1", order_id="o1", patient_id="p1", accession_number="A1",
        purpose=dist.Purpose.REPORT, recipient_kind=dist.RecipientKind.ORDERING_PROVIDER, recipient_ref="1234567893",
        recipient_name="Dr", channel=dist.DeliveryChannel.INBOX, state=state, created_at=AT, actionable=True)


@given(st.sampled_from(list(dist.DistributionState)), st.sampled_from(list(dist.DistributionEvent)))
def test_a_refused_event_leaves_the_delivery_as_it_was(state: dist.DistributionState,
                                                       event: dist.DistributionEvent) -> None:
    delivery = _delivery(state)
    actions = {
        dist.DistributionEvent.SEND: lambda: delivery.send(at=AT, by="x"),
        dist.DistributionEvent.DELIVER: lambda: delivery.deliver(at=AT, by="x"),
        dist.DistributionEvent.OPEN: lambda: delivery.open(at=AT, by="u", by_name="U"),
        dist.DistributionEvent.ESCALATE: lambda: delivery.escalate(at=AT, by="x", told=[], reason="late"),
        dist.DistributionEvent.FAIL: lambda: delivery.fail(at=AT, by="x", reason="down"),
        dist.DistributionEvent.RESEND: lambda: delivery.resend(at=AT, by="x", reason="again"),
        dist.DistributionEvent.CANCEL: lambda: delivery.cancel(at=AT, by="x", reason="not due"),
    }
    if (state, event) in dist.TRANSITIONS:
        actions[event]()
        assert delivery.state is dist.TRANSITIONS[(state, event)]
    else:
        with pytest.raises(InvalidTransition):
            actions[event]()
        assert delivery.state is state and delivery.log == []


def test_the_first_opening_is_kept_and_later_ones_counted() -> None:
    delivery = _delivery(dist.DistributionState.DELIVERED)
    assert delivery.awaits_opening()
    assert delivery.open(at=AT, by="u1", by_name="Dr One")
    assert not delivery.open(at=AT + timedelta(hours=1), by="u2", by_name="Dr Two")
    assert (delivery.first_opened_at, delivery.first_opened_by_name, delivery.open_count) == (AT, "Dr One", 2)
    assert not delivery.awaits_opening()


def test_a_letter_sent_after_its_due_time_is_late_and_one_sent_before_is_not() -> None:
    letter = _delivery(dist.DistributionState.PENDING)
    letter.due_at = AT + timedelta(days=7)
    assert not letter.is_late(AT + timedelta(days=6)) and letter.is_late(AT + timedelta(days=8))
    letter.send(at=AT + timedelta(days=8), by="x")
    assert letter.is_late(AT + timedelta(days=30))
    on_time = _delivery(dist.DistributionState.PENDING)
    on_time.due_at = AT + timedelta(days=7)
    on_time.send(at=AT + timedelta(days=1), by="x")
    assert not on_time.is_late(AT + timedelta(days=30))


def _request() -> rr.RecordsRequest:
    return rr.RecordsRequest.receive(id="q1", patient_id="p1", items=["report_copies"], order_ids=["o1"],
                                     delivery="mail", at=AT, requested_by="u", requester_name="Maria",
                                     third_party=False, recipient="", release_form_document_id="")


@pytest.mark.parametrize("state", list(rr.RequestState))
@pytest.mark.parametrize("event", list(rr.RequestEvent))
def test_records_request_table(state: rr.RequestState, event: rr.RequestEvent) -> None:
    request = _request()
    request.state = state
    steps = {rr.RequestEvent.START: lambda: request.start(at=AT, by="d"),
             rr.RequestEvent.EXTEND: lambda: request.extend(reason="archived off site", at=AT, by="d"),
             rr.RequestEvent.FULFIL: lambda: request.fulfil(answer="mailed", at=AT, by="d"),
             rr.RequestEvent.DENY: lambda: request.deny(basis="psychotherapy notes", at=AT, by="d"),
             rr.RequestEvent.WITHDRAW: lambda: request.withdraw(at=AT, by="d")}
    if (state, event) in rr.TRANSITIONS:
        steps[event]()
        assert request.state is rr.TRANSITIONS[(state, event)]
    else:
        with pytest.raises(InvalidTransition):
            steps[event]()
        assert request.state is state


def test_a_records_request_is_due_in_30_days_and_extends_once_by_30_within_them() -> None:
    request = _request()
    assert request.due_at == AT + timedelta(days=30)
    assert request.is_overdue(AT + timedelta(days=30, seconds=1))
    request.extend(reason="archived off site", at=AT + timedelta(days=10), by="d")
    assert request.due_at == AT + timedelta(days=60)
    with pytest.raises(Exception, match="only one extension"):
        request.extend(reason="again", at=AT + timedelta(days=11), by="d")
    late = _request()
    with pytest.raises(Exception, match="within the first 30 days"):
        late.extend(reason="late", at=AT + timedelta(days=31), by="d")


def test_follow_up_closes_only_with_a_reason_and_reopens_with_its_reminders_due_again() -> None:
    rec = fu.Recommendation(source=fu.FollowUpSource.RADS, text="Lung-RADS 3", modality="CT",
                            body_region="chest", procedure="LDCT", due_date=date(2026, 9, 1), due_date_latest=None,
                            rule="r", rule_source="s")
    item = fu.FollowUp.open_from(rec, id="f1", key="k", patient_id="p1", source_order_id="o1", source_accession="A1",
                                 source_report_id="r1", responsible_npi="1234567893", responsible_name="Dr", at=AT)
    item.remind(to="provider", days_before=30, at=AT, channel="inbox", address="", by="x")
    assert item.was_reminded("provider", 30)
    with pytest.raises(Exception, match="reason"):
        item.close(reason=" ", at=AT, by="u")
    item.close(reason="done at the hospital", at=AT, by="u")
    item.reopen(reason="closed by mistake", at=AT, by="u")
    assert item.state is fu.FollowUpState.OPEN and item.round == 1 and not item.was_reminded("provider", 30)
