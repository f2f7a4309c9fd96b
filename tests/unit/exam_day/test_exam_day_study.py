"""The study's state machine, performed steps as MPPS reports them, contrast, dose, interruptions and QC."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.errors import Conflict, InvalidTransition, ValidationError
from radflow.domain.lifecycle import OrderState
from radflow.domain.study import (
    TRANSITIONS,
    ContrastAdministration,
    ContrastReactionRecorded,
    DoseRecord,
    PerformedStepRecord,
    QcOutcome,
    ReactionSeverity,
    RepeatView,
    StepStatus,
    Study,
    StudyAcquisitionEnded,
    StudyEvent,
    StudyState,
    WorklistTrigger,
    next_study_state,
    worklist_step_status,
)

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def study() -> Study:
    return Study(id="s1", order_id="o1", patient_id="p1", accession_number="A1", study_instance_uid="2.25.1",
                 modality="CT", state=StudyState.PENDING, created_at=AT)


def step(uid: str, status: StepStatus = StepStatus.IN_PROGRESS, reason: str = "") -> PerformedStepRecord:
    return PerformedStepRecord(uid=uid, status=status, source="mpps", discontinuation_reason=reason)


@given(st.sampled_from(list(StudyState)), st.sampled_from(list(StudyEvent)))
def test_every_state_and_event_either_follows_the_table_or_is_refused(state: StudyState, event: StudyEvent) -> None:
    expected = TRANSITIONS.get((state, event))
    if expected is None:
        with pytest.raises(InvalidTransition):
            next_study_state(state, event)
    else:
        assert next_study_state(state, event) is expected


def test_the_study_completes_only_when_every_step_is_final_and_one_completed() -> None:
    s = study()
    assert s.start_step(step("u1"), by="dicom", at=AT)
    assert s.start_step(step("u2"), by="dicom", at=AT)
    assert s.update_step(step("u1", StepStatus.DISCONTINUED, "motion"), by="dicom", at=AT) is None
    assert s.state is StudyState.ACQUIRING
    assert s.update_step(step("u2", StepStatus.COMPLETED), by="dicom", at=AT) is StudyEvent.ACQUISITION_COMPLETED
    assert s.state is StudyState.ACQUIRED
    assert any(isinstance(e, StudyAcquisitionEnded) and e.completed for e in s.pull_events())


def test_all_steps_discontinued_makes_the_study_incomplete_with_their_reasons() -> None:
    s = study()
    s.start_step(step("u1"), by="dicom", at=AT)
    ended = s.update_step(step("u1", StepStatus.DISCONTINUED, "Contrast not given"), by="dicom", at=AT)
    assert ended is StudyEvent.ACQUISITION_DISCONTINUED
    assert s.state is StudyState.INCOMPLETE
    assert s.discontinuation_reason() == "Contrast not given"


def test_a_resent_message_changes_nothing_and_a_final_step_cannot_change_again() -> None:
    s = study()
    assert s.start_step(step("u1"), by="dicom", at=AT)
    assert not s.start_step(step("u1"), by="dicom", at=AT)
    s.update_step(step("u1", StepStatus.COMPLETED), by="dicom", at=AT)
    assert s.update_step(step("u1", StepStatus.COMPLETED), by="dicom", at=AT) is None
    with pytest.raises(Conflict, match="may no longer be updated"):
        s.update_step(step("u1", StepStatus.DISCONTINUED), by="dicom", at=AT)


def test_qc_pass_needs_every_required_series_and_a_repeat_names_its_views() -> None:
    s = study()
    s.start_step(step("u1"), by="dicom", at=AT)
    s.update_step(step("u1", StepStatus.COMPLETED), by="dicom", at=AT)
    with pytest.raises(ValidationError):
        s.review_qc(QcOutcome.PASSED, by="t", at=AT, required_series_obtained=False)
    with pytest.raises(ValidationError):
        s.review_qc(QcOutcome.REPEAT, by="t", at=AT, required_series_obtained=True)
    s.review_qc(QcOutcome.REPEAT, by="t", at=AT, required_series_obtained=True, repeats=(
        RepeatView("coronal delayed", "motion", "rad1", "radiologist", reporting_delay_minutes=25),))
    assert s.state is StudyState.ACQUIRING
    assert s.reporting_delay_minutes == 25


def test_a_contrast_reaction_needs_its_description_and_treatment_and_is_recorded_as_an_event() -> None:
    s = study()
    with pytest.raises(ValidationError, match="treatment"):
        ContrastAdministration(agent="iohexol 350", volume_ml=Decimal(90), route="intravenous", given_at=AT,
                               given_by="t", lot="L1", reaction=ReactionSeverity.MODERATE,
                               reaction_description="hives and wheeze")
    s.give_contrast(ContrastAdministration(agent="iohexol 350", volume_ml=Decimal(90), route="intravenous",
                                           given_at=AT, given_by="t", lot="L1", reaction=ReactionSeverity.MODERATE,
                                           reaction_description="hives and wheeze", treatment="diphenhydramine"))
    events = s.pull_events()
    assert isinstance(events[0], ContrastReactionRecorded) and events[0].severity == "moderate"


def test_a_dose_needs_a_ctdivol_or_a_dlp() -> None:
    with pytest.raises(ValidationError):
        DoseRecord(None, None, AT, "t")
    s = study()
    s.record_dose(DoseRecord(Decimal("12.5"), Decimal("480"), AT, "t", phantom="32 cm body"))
    assert s.doses[0]["ctdi_vol_mgy"] == "12.5"


def test_an_exam_is_interrupted_once_at_a_time() -> None:
    s = study()
    s.interrupt("patient_motion", note="", by="t", at=AT)
    with pytest.raises(Conflict):
        s.interrupt("other", note="", by="t", at=AT)
    s.resume(by="t", at=AT)
    assert s.interruptions[0]["ended_at"] is not None


@pytest.mark.parametrize(("state", "trigger", "expected"), [
    (OrderState.SCHEDULED, WorklistTrigger.SCHEDULED, "SCHEDULED"),
    (OrderState.SCHEDULED, WorklistTrigger.CHECK_IN, None),
    (OrderState.CHECKED_IN, WorklistTrigger.CHECK_IN, "ARRIVED"),
    (OrderState.IN_PROGRESS, WorklistTrigger.SCHEDULED, "STARTED"),
    (OrderState.ON_HOLD, WorklistTrigger.SCHEDULED, None),
    (OrderState.AWAITING_QC, WorklistTrigger.SCHEDULED, None),
    (OrderState.CANCELLED, WorklistTrigger.SCHEDULED, None),
])
def test_an_exam_is_on_its_rooms_worklist_from_booking_or_check_in_until_it_ends(
        state: OrderState, trigger: WorklistTrigger, expected: str | None) -> None:
    assert worklist_step_status(state, trigger) == expected
