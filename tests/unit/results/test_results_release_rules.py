"""Patient release: immediate on signing; held only for one report by a person, for a reason, for a limited
time; no setting delays a whole category of results (45 CFR 171.103)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.distribution import ResultsPolicy
from radflow.domain.errors import Forbidden, ValidationError
from radflow.domain.release import (
    HoldAuthor,
    HoldReason,
    ReleaseHold,
    Responsible,
    ResultCommunication,
    default_responsibility,
    released_since,
)

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)
DOCTOR = HoldAuthor("u1", "Dr Order", "referring_provider")
PATIENT = HoldAuthor("u2", "Maria Rivera", "patient", patient_id="p1")
HARM = "the patient told her therapist she would harm herself if the result were bad; tell her in person"


def hold(reason: HoldReason = HoldReason.PREVENTING_HARM, author: HoldAuthor = DOCTOR, days: int = 5,
         explanation: str = HARM) -> ReleaseHold:
    return ReleaseHold.place(id="h1", order_id="o1", patient_id="p1", reason=reason, explanation=explanation,
                             author=author, at=AT, expires_at=AT + timedelta(days=days), max_days=30)


@given(signed_after=st.integers(min_value=0, max_value=10_000), looked_after=st.integers(min_value=0, max_value=10**6))
def test_without_an_individual_hold_a_report_is_released_when_signed(signed_after: int, looked_after: int) -> None:
    signed = AT + timedelta(minutes=signed_after)
    assert released_since(signed, [], signed + timedelta(minutes=looked_after)) == signed


@given(st.dictionaries(st.sampled_from(["patient_release_delay_hours", "release_delay_days_ct", "embargo_hours",
                                        "delay_release_for_review", "pathology_release_hold"]),
                       st.integers(min_value=1, max_value=240), min_size=1))
def test_no_setting_can_delay_the_release_of_a_category_of_results(settings: dict[str, int]) -> None:
    with pytest.raises(ValidationError, match="information blocking"):
        ResultsPolicy.from_mapping(settings)


def test_known_settings_are_read_and_unknown_ones_refused() -> None:
    policy = ResultsPolicy.from_mapping({"unopened_escalation_hours": 24, "followup_patient_reminder_days": [21, 3]})
    assert policy.unopened_escalation == timedelta(hours=24) and policy.followup_patient_reminder_days == (21, 3)
    with pytest.raises(ValidationError, match="unknown results setting"):
        ResultsPolicy.from_mapping({"unopend_escalation_hours": 24})


def test_a_hold_keeps_the_report_back_until_it_ends_then_it_is_released_from_that_moment() -> None:
    placed = hold(days=5)
    assert released_since(AT + timedelta(hours=1), [placed], AT + timedelta(days=4)) is None
    assert released_since(AT + timedelta(hours=1), [placed], AT + timedelta(days=5)) == AT + timedelta(days=5)
    placed.lift(author=DOCTOR, at=AT + timedelta(days=2), reason="told in person")
    assert released_since(AT + timedelta(hours=1), [placed], AT + timedelta(days=3)) == AT + timedelta(days=2)


def test_a_system_component_places_no_hold() -> None:
    for author in (HoldAuthor("system:results", "rule", "admin"), HoldAuthor("u9", "EHR", "integration")):
        with pytest.raises(Forbidden, match="information blocking"):
            hold(author=author)


def test_a_preventing_harm_hold_is_a_clinicians_individual_determination() -> None:
    with pytest.raises(Forbidden, match="licensed clinician"):
        hold(author=HoldAuthor("u3", "Desk", "front_desk"))
    with pytest.raises(ValidationError, match="individual determination"):
        hold(explanation="CT policy")
    with pytest.raises(Forbidden, match="review"):
        hold().lift(author=PATIENT, at=AT, reason="I want it")


def test_every_hold_ends_and_runs_no_longer_than_the_policy_allows() -> None:
    with pytest.raises(ValidationError, match="at most 30 days"):
        hold(days=31)
    with pytest.raises(ValidationError, match="end after it starts"):
        hold(days=0)


def test_a_patient_holds_only_their_own_report_and_may_lift_it() -> None:
    own = hold(HoldReason.PATIENT_REQUEST, PATIENT, explanation="")
    own.lift(author=PATIENT, at=AT + timedelta(days=1), reason="ready")
    assert own.ended_at == AT + timedelta(days=1)
    with pytest.raises(Forbidden):
        hold(HoldReason.PATIENT_REQUEST, HoldAuthor("u4", "Someone", "patient", patient_id="p2"))
    with pytest.raises(ValidationError, match="how the patient asked"):
        hold(HoldReason.PATIENT_REQUEST, HoldAuthor("u5", "Desk", "front_desk"), explanation="")


def test_an_expired_hold_does_not_expire_twice() -> None:
    placed = hold(days=1)
    assert not placed.expire(at=AT + timedelta(hours=23))
    assert placed.expire(at=AT + timedelta(days=1))
    assert not placed.expire(at=AT + timedelta(days=2))


def test_the_facility_tells_the_patient_about_a_mammogram_and_that_cannot_be_handed_off() -> None:
    responsible, basis = default_responsibility(is_mammogram=True, center_tells_patients=False)
    assert responsible is Responsible.CENTER and "900.12(c)(2)" in basis
    assert default_responsibility(is_mammogram=False, center_tells_patients=False)[0] is Responsible.ORDERING_PROVIDER
    record = ResultCommunication(order_id="o1", patient_id="p1", responsible=responsible, basis=basis,
                                 set_by="system", set_at=AT)
    with pytest.raises(ValidationError, match="MQSA"):
        record.change(Responsible.ORDERING_PROVIDER, basis="the provider asked", by="u", at=AT, is_mammogram=True)
