"""The CriticalResult aggregate: its state table, deadlines per level, escalation chain and read-back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from radflow.domain.critical_result import (
    CHAIN,
    TRANSITIONS,
    ChainStep,
    CriticalDeadlines,
    CriticalEvent,
    CriticalLevel,
    CriticalResult,
    CriticalResultAcknowledged,
    CriticalResultRaised,
    CriticalState,
    LevelDeadline,
    Recipient,
    open_results,
    parse_level,
)
from radflow.domain.errors import InvalidTransition, ValidationError

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DEADLINES = CriticalDeadlines()


def raised(level: CriticalLevel = CriticalLevel.CRITICAL, deadlines: CriticalDeadlines = DEADLINES,
           at: datetime = AT) -> CriticalResult:
    return CriticalResult.raise_finding(
        id="c1", order_id="o1", patient_id="p1", accession_number="ACC1", report_id="r1", level=level,
        finding="Acute subdural hematoma", finding_types=["intracranial_hemorrhage"], by="u-rad", by_name="Dr Rad",
        at=at, deadlines=deadlines, ordering_provider_npi="1234567893", ordering_provider_name="Dr Order")


def put_in(state: CriticalState) -> CriticalResult:
    result = raised()
    result.state = state
    return result


def fire(result: CriticalResult, event: CriticalEvent) -> None:
    recipient = Recipient("u1", "Dr Order", ChainStep.ORDERING_PROVIDER, "sms", "555")
    if event is CriticalEvent.NOTIFY:
        result.notified(recipient, at=AT, by="w")
    elif event is CriticalEvent.ESCALATE:
        result.escalate(at=AT, by="w", deadlines=DEADLINES, reason="no answer")
    elif event is CriticalEvent.ACKNOWLEDGE:
        result.acknowledge(by="u1", by_name="Dr Order", channel="phone", read_back="subdural hematoma",
                           communicated_by="u-rad", at=AT)
    elif event is CriticalEvent.CLOSE:
        result.close(at=AT, by="u-rad")
    else:
        result.withdraw("marked on the wrong patient", at=AT, by="u-rad")


@pytest.mark.parametrize("state", list(CriticalState))
@pytest.mark.parametrize("event", list(CriticalEvent))
def test_every_state_and_event_pair_follows_the_table(state: CriticalState, event: CriticalEvent) -> None:
    result = put_in(state)
    target = TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(InvalidTransition):
            fire(result, event)
        assert result.state is state
    else:
        fire(result, event)
        assert result.state is target


def test_a_critical_finding_is_due_in_sixty_minutes_and_escalates_after_twenty_by_default() -> None:
    result = raised()
    assert result.due_at == AT + timedelta(minutes=60)
    assert result.step_due_at == AT + timedelta(minutes=20)
    assert isinstance(result.pull_events()[0], CriticalResultRaised)


@pytest.mark.parametrize(("level", "hours"), [(CriticalLevel.URGENT, 6), (CriticalLevel.UNEXPECTED_SIGNIFICANT, 72)])
def test_urgent_and_unexpected_significant_findings_have_their_own_deadlines(level: CriticalLevel,
                                                                              hours: int) -> None:
    assert raised(level).due_at == AT + timedelta(hours=hours)


def test_deadlines_are_configurable_per_level() -> None:
    custom = CriticalDeadlines(critical=LevelDeadline(acknowledge_minutes=30, escalate_after_minutes=10))
    result = raised(deadlines=custom)
    assert (result.due_at, result.step_due_at) == (AT + timedelta(minutes=30), AT + timedelta(minutes=10))
    with pytest.raises(ValidationError):
        LevelDeadline(acknowledge_minutes=0, escalate_after_minutes=5)


def test_escalation_walks_the_chain_then_reports_it_exhausted() -> None:
    result = raised()
    steps = [result.escalate(at=AT + timedelta(minutes=20 * i), by="w", deadlines=DEADLINES, reason="late")
             for i in (1, 2, 3)]
    assert steps == [ChainStep.COVERING_PROVIDER, ChainStep.SECTION_CHIEF, None]
    assert result.chain_exhausted and result.chain_step is CHAIN[-1]
    assert result.is_open and result.is_overdue(AT + timedelta(minutes=61))


def test_acknowledgement_without_read_back_is_refused_and_changes_nothing() -> None:
    result = raised()
    with pytest.raises(ValidationError, match="read-back"):
        result.acknowledge(by="u1", by_name="Dr Order", channel="phone", read_back=" ", communicated_by="u-rad",
                           at=AT)
    assert result.state is CriticalState.RAISED and result.acknowledged_at is None


def test_acknowledgement_on_an_unknown_channel_is_refused() -> None:
    with pytest.raises(ValidationError, match="channel"):
        raised().acknowledge(by="u1", by_name="Dr Order", channel="telepathy", read_back="x",
                             communicated_by="", at=AT)


def test_documentation_says_who_was_reached_when_how_and_the_read_back() -> None:
    result = raised()
    result.notified(Recipient("u1", "Dr Order", ChainStep.ORDERING_PROVIDER, "sms", "+15550100"),
                    at=AT + timedelta(minutes=1), by="worker")
    result.escalate(at=AT + timedelta(minutes=20), by="worker", deadlines=DEADLINES, reason="no acknowledgement")
    result.acknowledge(by="u2", by_name="Dr Cover", channel="phone", read_back="acute subdural hematoma, left",
                       communicated_by="u-rad", at=AT + timedelta(minutes=25))
    assert isinstance(result.pull_events()[-1], CriticalResultAcknowledged)
    text = result.documentation(ZoneInfo("America/New_York"), {"u-rad": "Dr Rad"})
    assert "Critical result: Acute subdural hematoma." in text
    assert "2026-03-02 10:01 EST: notified Dr Order (ordering provider) by sms." in text
    assert "escalated to the covering provider" in text
    assert ('2026-03-02 10:25 EST: communicated to Dr Cover by phone by Dr Rad; '
            'read back: "acute subdural hematoma, left".') in text


def test_the_board_lists_open_results_least_time_left_first() -> None:
    late = raised(CriticalLevel.URGENT)
    soon = raised(CriticalLevel.CRITICAL, at=AT + timedelta(minutes=30))
    done = raised()
    done.withdraw("duplicate", at=AT, by="u")
    assert open_results([late, done, soon]) == [soon, late]


def test_levels_are_read_from_their_words() -> None:
    assert parse_level("Unexpected significant") is CriticalLevel.UNEXPECTED_SIGNIFICANT
    with pytest.raises(ValidationError, match="level"):
        parse_level("scary")
