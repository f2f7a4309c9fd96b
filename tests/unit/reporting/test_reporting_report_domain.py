"""The Report aggregate: its one-table state machine, sections, RADS fields and addenda."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radflow.catalog.rads import load_rulebook
from radflow.domain.errors import InvalidTransition, ValidationError
from radflow.domain.rads import assess_finding
from radflow.domain.report import (
    SECTIONS,
    TRANSITIONS,
    RadsResult,
    Report,
    ReportAmended,
    ReportEvent,
    ReportFinalized,
    ReportState,
    next_report_state,
)

AT = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
LUNG_RADS_3 = {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7.2}]}


def a_report(state: ReportState = ReportState.DRAFT) -> Report:
    return Report(id="r1", order_id="o1", patient_id="p1", accession_number="ACC1", study_instance_uid="2.25.1",
                  template_key="ct_chest", state=state, created_at=AT, author_id="u-rad", author_name="Dr Rad")


@pytest.mark.parametrize("state", list(ReportState))
@pytest.mark.parametrize("event", list(ReportEvent))
def test_every_state_and_event_pair_follows_the_table(state: ReportState, event: ReportEvent) -> None:
    target = TRANSITIONS.get((state, event))
    if target is None:
        with pytest.raises(InvalidTransition):
            next_report_state(state, event)
    else:
        assert next_report_state(state, event) is target


def test_signing_makes_the_report_final_and_announces_it_with_its_rads_fields() -> None:
    report = a_report()
    result = RadsResult.of(LUNG_RADS_3, assess_finding(LUNG_RADS_3, load_rulebook()))
    report.set_rads([result], by="u-rad", at=AT)
    report.edit({"impression": "Solid nodule right upper lobe."}, by="u-rad", at=AT)
    report.pull_events()
    report.sign(by="u-rad", by_name="Dr Rad", at=AT + timedelta(minutes=5))
    assert report.state is ReportState.FINAL and report.signed_at == AT + timedelta(minutes=5)
    (event,) = report.pull_events()
    assert isinstance(event, ReportFinalized)
    assert event.rads[0].category == "3" and event.rads[0].interval_days == 183
    assert event.order_id == "o1" and event.signed_by_name == "Dr Rad"


def test_a_signed_report_cannot_be_edited_only_amended() -> None:
    report = a_report()
    report.sign(by="u-rad", by_name="Dr Rad", at=AT)
    with pytest.raises(InvalidTransition):
        report.edit({"findings": "changed"}, by="u-rad", at=AT)
    report.pull_events()
    addendum = report.sign_addendum("Comparison with the outside CT: unchanged.", reason="outside prior",
                                    by="u-rad", by_name="Dr Rad", at=AT + timedelta(hours=1))
    assert report.state is ReportState.AMENDED and addendum.seq == 1
    assert isinstance(report.pull_events()[0], ReportAmended)
    assert "ADDENDUM 1:\nComparison with the outside CT: unchanged." in report.text()


def test_an_addendum_needs_text() -> None:
    report = a_report(ReportState.FINAL)
    with pytest.raises(ValidationError):
        report.sign_addendum("  ", reason="", by="u-rad", by_name="Dr Rad", at=AT)
    assert report.state is ReportState.FINAL and report.addenda == []


def test_unknown_sections_are_refused_by_name() -> None:
    report = a_report()
    with pytest.raises(ValidationError, match="conclusion"):
        report.edit({"conclusion": "x"}, by="u-rad", at=AT)


def test_rads_recommendation_is_written_into_the_section_and_replaced_when_the_finding_changes() -> None:
    report = a_report()
    report.edit({"recommendations": "Clinical correlation."}, by="u-rad", at=AT)
    first = RadsResult.of(LUNG_RADS_3, assess_finding(LUNG_RADS_3, load_rulebook()))
    report.set_rads([first], by="u-rad", at=AT)
    assert report.recommendations.splitlines() == ["Clinical correlation.",
                                                   "Lung-RADS 3 (Probably Benign): 6-month LDCT."]
    benign = {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 4}]}
    report.set_rads([RadsResult.of(benign, assess_finding(benign, load_rulebook()))], by="u-rad", at=AT)
    assert "6-month LDCT" not in report.recommendations
    assert report.recommendations.startswith("Clinical correlation.\nLung-RADS 2")


def test_laterality_words_are_read_as_dicom_codes() -> None:
    report = a_report()
    report.edit({}, by="u", at=AT, exam_laterality="left", exam_body_part="knee")
    assert (report.exam_laterality, report.exam_body_part) == ("L", "KNEE")
    with pytest.raises(ValidationError):
        report.edit({}, by="u", at=AT, exam_laterality="upper")


@given(st.lists(st.sampled_from(list(ReportEvent)), max_size=12))
def test_no_event_sequence_reaches_a_state_the_table_does_not_allow(events: list[ReportEvent]) -> None:
    report = a_report()
    for event in events:
        before = report.state
        try:
            if event is ReportEvent.EDIT:
                report.edit({"findings": "x"}, by="u", at=AT)
            elif event is ReportEvent.RELEASE_PRELIMINARY:
                report.release_preliminary(by="u", at=AT)
            elif event is ReportEvent.SIGN:
                report.sign(by="u", by_name="U", at=AT)
            else:
                report.sign_addendum("more", reason="r", by="u", by_name="U", at=AT)
        except InvalidTransition:
            assert report.state is before
            continue
        assert report.state is TRANSITIONS[(before, event)]
    assert set(SECTIONS) <= set(vars(report))
