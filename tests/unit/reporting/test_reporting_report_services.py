"""Reports through the services: template, RADS fields, report QC before release, signing, addenda."""

from __future__ import annotations

import pytest
from reporting_center import ReadingRoom

from radflow.domain.errors import Conflict, NotFound, ValidationError
from radflow.domain.events import DomainEvent
from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Laterality, Order
from radflow.domain.report import ReportFinalized, ReportState
from radflow.domain.report_qc import ReportNotReleasable, ViewerContext
from radflow.services.critical_results import MarkCritical
from radflow.services.reading import ClaimStudy
from radflow.services.reports import (
    AddAddendum,
    CheckReport,
    GetReport,
    ReleasePreliminary,
    SaveReport,
    SetRadsFindings,
    SignReport,
    StartReport,
)

LUNG_RADS_3 = {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": 7.2}]}


def opened(room: ReadingRoom, protocol: str = "CT-HEAD", **kwargs: object) -> Order:
    study = room.study(protocol, **kwargs)  # type: ignore[arg-type]
    room.bus.handle(ClaimStudy(actor=room.radiologist, order_id=study.id))
    room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id))
    return study


def write(room: ReadingRoom, study: Order, **sections: str) -> None:
    room.bus.handle(SaveReport(actor=room.radiologist, order_id=study.id, sections=sections))


def test_a_report_starts_from_the_exams_template_with_the_orders_facts(room: ReadingRoom) -> None:
    study = opened(room, "CT-HEAD", contrast="without", reason="fall on anticoagulation")
    report = room.bus.handle(GetReport(actor=room.radiologist, order_id=study.id)).report
    assert report.template_key == "ct_head" and report.state is ReportState.DRAFT
    assert report.clinical_indication == "fall on anticoagulation"
    assert report.technique.startswith("CT head: axial CT images without intravenous contrast")
    assert "Extra-axial spaces:" in report.findings and report.impression == ""
    assert (report.exam_body_part, report.accession_number) == ("HEAD", study.accession_number)


def test_starting_again_opens_the_same_report(room: ReadingRoom) -> None:
    study = opened(room)
    first = room.bus.handle(GetReport(actor=room.radiologist, order_id=study.id)).report.id
    assert room.bus.handle(StartReport(actor=room.radiologist, order_id=study.id)) == first


def test_a_lung_rads_3_nodule_gives_a_final_report_recommending_a_6_month_ldct(room: ReadingRoom) -> None:
    study = opened(room, "CT-LDCT")
    (result,) = room.bus.handle(SetRadsFindings(actor=room.radiologist, order_id=study.id, findings=(LUNG_RADS_3,)))
    assert (result.category, result.interval_days, result.modality) == ("3", 183, "CT")
    write(room, study, findings="7.2 mm solid nodule, right upper lobe.", impression="Lung-RADS 3: probably benign.")
    assert room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id)) == "final"
    view = room.bus.handle(GetReport(actor=room.radiologist, order_id=study.id))
    assert "Lung-RADS 3 (Probably Benign): 6-month LDCT." in view.report.recommendations
    assert view.order.state is OrderState.REPORTED
    assert view.order.transitions[-1].event == "report_finalized"


def test_signing_announces_report_finalized_for_distribution_and_follow_up(room: ReadingRoom) -> None:
    seen: list[DomainEvent] = []
    study = opened(room, "CT-LDCT")
    room.bus.handle(SetRadsFindings(actor=room.radiologist, order_id=study.id, findings=(LUNG_RADS_3,)))
    write(room, study, impression="Lung-RADS 3.")
    original = room.bus.uow_factory

    def watching() -> object:
        uow = original()
        uow._handlers = {ReportFinalized: [lambda event, _uow: seen.append(event)]}
        return uow

    room.bus.uow_factory = watching  # type: ignore[assignment]
    room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))
    (event,) = seen
    assert isinstance(event, ReportFinalized)
    assert event.order_id == study.id and event.rads[0].interval_days == 183


def test_a_bad_rads_field_is_refused_with_the_field_named(room: ReadingRoom) -> None:
    study = opened(room, "CT-LDCT")
    with pytest.raises(ValidationError, match=r"RADS finding 1: .*diameter"):
        room.bus.handle(SetRadsFindings(actor=room.radiologist, order_id=study.id, findings=(
            {"system": "lung-rads", "exam": "baseline", "nodules": [{"type": "solid", "diameter_mm": "big"}]},)))


def test_a_report_without_impression_is_not_signed_and_the_order_does_not_move(room: ReadingRoom) -> None:
    study = opened(room)
    write(room, study, findings="No acute abnormality.")
    with pytest.raises(ReportNotReleasable, match="write the impression"):
        room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))
    view = room.bus.handle(GetReport(actor=room.radiologist, order_id=study.id))
    assert view.report.state is ReportState.DRAFT and view.order.state is OrderState.IMAGING_COMPLETED


def test_a_hemorrhage_in_the_text_blocks_release_until_it_is_marked_critical(room: ReadingRoom) -> None:
    study = opened(room)
    write(room, study, findings="Acute left subdural hematoma, 8 mm.", impression="Acute subdural hematoma.")
    problems = room.bus.handle(CheckReport(actor=room.radiologist, order_id=study.id))
    assert [p.code for p in problems] == ["critical_finding_unrecorded"]
    with pytest.raises(ReportNotReleasable, match="no critical result is recorded"):
        room.bus.handle(ReleasePreliminary(actor=room.radiologist, order_id=study.id))
    room.bus.handle(MarkCritical(actor=room.radiologist, order_id=study.id, level="critical",
                                 finding="Acute left subdural hematoma"))
    assert room.bus.handle(CheckReport(actor=room.radiologist, order_id=study.id)) == []
    assert room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id)) == "final"


def test_a_study_mismatch_with_the_viewer_blocks_signing(room: ReadingRoom) -> None:
    study = opened(room)
    write(room, study, impression="Normal.")
    with pytest.raises(ReportNotReleasable, match="the viewer shows study ACC99"):
        room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id,
                                   viewer=ViewerContext(accession_number="ACC99")))


def test_a_wrong_side_blocks_signing(room: ReadingRoom) -> None:
    study = opened(room, "MR-KNEE", laterality=Laterality.LEFT)
    write(room, study, findings="Right knee: tear of the medial meniscus.", impression="Medial meniscal tear.")
    with pytest.raises(ReportNotReleasable, match="right side only"):
        room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))


def test_preliminary_then_final(room: ReadingRoom) -> None:
    study = opened(room)
    write(room, study, impression="No acute intracranial abnormality.")
    assert room.bus.handle(ReleasePreliminary(actor=room.radiologist, order_id=study.id)) == "preliminary"
    write(room, study, impression="No acute intracranial abnormality. Chronic small vessel disease.")
    assert room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id)) == "final"


def test_a_signed_report_is_amended_by_addendum_and_the_order_is_reported_again(room: ReadingRoom) -> None:
    study = opened(room)
    write(room, study, impression="No acute abnormality.")
    room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))
    with pytest.raises(Conflict, match="addendum"):
        write(room, study, impression="changed")
    with room.uow() as uow:
        uow.orders.get(study.id).state = OrderState.DELIVERED
        uow.commit()
    assert room.bus.handle(AddAddendum(actor=room.second_radiologist, order_id=study.id,
                                       text="Outside CT from 2025 reviewed: unchanged.", reason="outside prior")) == 1
    view = room.bus.handle(GetReport(actor=room.radiologist, order_id=study.id))
    assert view.report.state is ReportState.AMENDED and view.order.state is OrderState.REPORTED
    assert "ADDENDUM 1:\nOutside CT from 2025 reviewed: unchanged." in view.report.text()


def test_an_addendum_naming_a_critical_finding_needs_its_record(room: ReadingRoom) -> None:
    study = opened(room)
    write(room, study, impression="No acute abnormality.")
    room.bus.handle(SignReport(actor=room.radiologist, order_id=study.id))
    with pytest.raises(ReportNotReleasable, match="no critical result"):
        room.bus.handle(AddAddendum(actor=room.radiologist, order_id=study.id,
                                    text="On review, a small left pneumothorax is present."))


def test_referrers_see_a_report_once_released_and_patients_once_signed(room: ReadingRoom) -> None:
    study = opened(room)
    write(room, study, impression="Normal.")
    with pytest.raises(NotFound):
        room.bus.handle(GetReport(actor=room.ordering, order_id=study.id))
    room.bus.handle(ReleasePreliminary(actor=room.radiologist, order_id=study.id))
    assert room.bus.handle(GetReport(actor=room.ordering, order_id=study.id)).report.state is ReportState.PRELIMINARY


def test_a_center_without_a_configured_reader_still_reads_the_text_with_medspacy(room: ReadingRoom) -> None:
    room.without_reader()  # the wiring gives the handlers the process's medspaCy reader
    study = opened(room)
    write(room, study, findings="There is an acute subdural hematoma along the left convexity.",
          impression="No other abnormality.")
    problems = room.bus.handle(CheckReport(actor=room.radiologist, order_id=study.id))
    assert [p.code for p in problems] == ["critical_finding_unrecorded"]
