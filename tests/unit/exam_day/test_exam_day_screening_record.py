"""The screening record's state machine: holds are released only by a radiologist, corrections go back to one."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.domain.errors import InvalidTransition, ValidationError
from radflow.domain.screening.case import AnswerSource
from radflow.domain.screening.record import (
    TRANSITIONS,
    ScreeningEvent,
    ScreeningRecord,
    ScreeningState,
    next_screening_state,
)

AT = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


@given(st.sampled_from(list(ScreeningState)), st.sampled_from(list(ScreeningEvent)))
def test_every_state_and_event_follows_the_table_or_is_refused(state: ScreeningState, event: ScreeningEvent) -> None:
    target = TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(InvalidTransition):
            next_screening_state(state, event)
    else:
        assert next_screening_state(state, event) is target


@given(st.sampled_from([ScreeningEvent.EVALUATED_CLEAR, ScreeningEvent.EVALUATED_WITH_ACTION,
                        ScreeningEvent.EVALUATED_HOLD]))
def test_no_evaluation_releases_a_hold(event: ScreeningEvent) -> None:
    assert next_screening_state(ScreeningState.HELD, event) is ScreeningState.HELD


def test_a_corrected_contraindication_goes_to_a_radiologist_not_straight_to_clear() -> None:
    assert next_screening_state(ScreeningState.CONTRAINDICATED, ScreeningEvent.EVALUATED_CLEAR) is ScreeningState.HELD


def test_the_latest_answer_to_an_item_counts_and_keeps_who_gave_it() -> None:
    record = ScreeningRecord(id="r", order_id="o", patient_id="p", state=ScreeningState.OPEN, created_at=AT)
    record.submit({"mri.tattoos": True}, AnswerSource.PATIENT_ONLINE, by="p", at=AT, questionnaires=("mri-safety",))
    record.submit({"mri.tattoos": False}, AnswerSource.TECHNOLOGIST_VERIFIED, by="t", at=AT,
                  questionnaires=("mri-safety",))
    assert record.current_answers()["mri.tattoos"] == {"value": False, "source": "technologist_verified",
                                                       "authored": AT.isoformat()}
    with pytest.raises(ValidationError):
        record.submit({}, AnswerSource.PATIENT_ONLINE, by="p", at=AT, questionnaires=())


def test_a_radiologist_who_stops_an_exam_names_the_alternative() -> None:
    record = ScreeningRecord(id="r", order_id="o", patient_id="p", state=ScreeningState.HELD, created_at=AT)
    with pytest.raises(ValidationError, match="alternative"):
        record.review(clear=False, note="pacemaker not MR conditional", by="rad", at=AT)
    record.review(clear=False, note="pacemaker not MR conditional", by="rad", at=AT, alternative="CT head")
    assert record.state is ScreeningState.CONTRAINDICATED
