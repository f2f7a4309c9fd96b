"""Exam-day services on in-memory fakes: screening holds and review, MPPS rules and the exception queue,
walk-ins, unidentified patients, the Zone IV gate, QC against the PACS, and worklist visibility per room."""

from __future__ import annotations

import dataclasses

import pytest
from exam_day_center import ExamDayCenter, ny
from test_exam_day_flow import MRI_SAFE

from radflow.domain.errors import Conflict, Forbidden
from radflow.domain.study import StepStatus
from radflow.domain.users import Principal, Role
from radflow.services.exam_day.exam import ReviewQc, VerifyPrescan
from radflow.services.exam_day.performed_steps import (
    DismissMppsException,
    ListMppsExceptions,
    ReconcileMppsException,
)
from radflow.services.exam_day.room import SaveStation
from radflow.services.exam_day.walk_in import (
    AddToTodaysWorklist,
    RegisterUnidentifiedPatient,
    ResolveTemporaryIdentity,
    TemporaryIdentityResolved,
)
from radflow.services.screening import ReviewScreening, SubmitScreeningAnswers

CHECKS = {"identity": True, "protocol": True, "contrast_plan": True, "positioning": True, "equipment": True}


def booked_mri(center: ExamDayCenter, scanner: str = "MR1") -> str:
    order_id = center.order("MR-BRAIN")
    center.book(order_id, scanner)
    return order_id


def test_an_mr_unsafe_device_reported_online_holds_the_order_and_takes_it_off_the_worklist(
        center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    patient = center.people.desk
    center.bus.handle(SubmitScreeningAnswers(actor=patient, order_id=order_id,
                                             answers={**MRI_SAFE, "mri.cardiac_device": "mr_unsafe"}))
    assert center.screening_state(order_id) == "contraindicated"
    assert center.state(order_id) == "on_hold"
    assert center.worklist_item(center.accession(order_id)) is None
    assert center.get_order(order_id).transitions[-1].reason.startswith("safety screening CONTRAINDICATED")


def test_a_radiologist_clears_a_held_case_and_the_order_returns_to_the_worklist(center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    center.bus.handle(SubmitScreeningAnswers(actor=center.people.tech, order_id=order_id,
                                             answers={**MRI_SAFE, "mri.cardiac_device": "unknown"}))
    assert center.screening_state(order_id) == "held"
    assert center.state(order_id) == "on_hold"
    with pytest.raises(Forbidden):
        center.bus.handle(ReviewScreening(actor=center.people.tech, order_id=order_id, clear=True, note="ok"))
    center.bus.handle(ReviewScreening(actor=center.people.radiologist, order_id=order_id, clear=True,
                                      note="device card seen: MR Conditional at 1.5 T, cardiology present"))
    assert center.state(order_id) == "scheduled"
    assert center.worklist_item(center.accession(order_id)) is not None
    # The same answers evaluated again stay cleared: the radiologist weighed exactly these reasons.
    center.bus.handle(SubmitScreeningAnswers(actor=center.people.tech, order_id=order_id,
                                             answers={"mri.tattoos": False}))
    assert center.screening_state(order_id) == "cleared_by_radiologist"


def test_the_scanner_room_is_closed_until_the_technologist_verified_the_mri_answers(center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    center.bus.handle(SubmitScreeningAnswers(actor=center.people.desk, order_id=order_id, answers=MRI_SAFE))
    with pytest.raises(Conflict, match="verify the screening answers"):
        center.bus.handle(VerifyPrescan(actor=center.people.tech, order_id=order_id, checks=CHECKS))
    center.bus.handle(SubmitScreeningAnswers(actor=center.people.tech, order_id=order_id, answers=MRI_SAFE))
    center.bus.handle(VerifyPrescan(actor=center.people.tech, order_id=order_id, checks=CHECKS))


def test_an_exam_started_without_check_in_is_recorded_as_such(center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    assert center.mpps("1.9.1", StepStatus.IN_PROGRESS, center.accession(order_id)) == "applied"
    last = center.get_order(order_id).transitions[-1]
    assert last.event == "exam_started" and last.details["without_check_in"] is True


def test_one_mpps_naming_two_accessions_moves_both_orders(center: ExamDayCenter) -> None:
    first, second = booked_mri(center), center.order("MR-CSPINE")
    center.book(second, "MR1", ny(2, 11))
    accessions = (center.accession(first), center.accession(second))
    center.mpps("1.9.2", StepStatus.IN_PROGRESS, *accessions)
    center.mpps("1.9.2", StepStatus.COMPLETED, *accessions)
    assert [center.state(first), center.state(second)] == ["awaiting_qc", "awaiting_qc"]


def test_an_order_completes_only_when_all_its_steps_are_final(center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    accession = center.accession(order_id)
    center.mpps("1.9.3", StepStatus.IN_PROGRESS, accession)
    center.mpps("1.9.4", StepStatus.IN_PROGRESS, accession)
    center.mpps("1.9.3", StepStatus.COMPLETED, accession)
    assert center.state(order_id) == "in_progress"
    assert center.mpps("1.9.3", StepStatus.COMPLETED, accession) == "applied"  # a resend changes nothing
    center.mpps("1.9.4", StepStatus.DISCONTINUED, accession)
    assert center.state(order_id) == "awaiting_qc"


def test_an_unknown_accession_waits_in_the_exception_queue_and_reconciling_replays_its_statuses(
        center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    assert center.mpps("1.9.5", StepStatus.IN_PROGRESS, "TYPO-123") == "queued"
    assert center.mpps("1.9.5", StepStatus.COMPLETED, "TYPO-123") == "queued"
    held = center.bus.handle(ListMppsExceptions(actor=center.people.tech))
    assert [h.reason for h in held] == ["no order with accession TYPO-123"]
    center.bus.handle(ReconcileMppsException(actor=center.people.tech, exception_id=held[0].id, order_id=order_id,
                                             note="accession mistyped at the console"))
    assert center.state(order_id) == "awaiting_qc"
    assert center.bus.handle(ListMppsExceptions(actor=center.people.tech)) == []


def test_an_exam_started_on_a_held_order_is_not_applied_and_can_be_dismissed(center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    center.bus.handle(SubmitScreeningAnswers(actor=center.people.tech, order_id=order_id,
                                             answers={**MRI_SAFE, "mri.cardiac_device": "unknown"}))
    assert center.mpps("1.9.6", StepStatus.IN_PROGRESS, center.accession(order_id)) == "queued"
    assert center.state(order_id) == "on_hold"
    held = center.bus.handle(ListMppsExceptions(actor=center.people.manager))
    assert "on hold" in held[0].reason
    center.bus.handle(DismissMppsException(actor=center.people.manager, exception_id=held[0].id,
                                           note="phantom test on the held patient's record"))
    assert center.bus.handle(ListMppsExceptions(actor=center.people.manager, state="dismissed"))


def test_a_room_that_lists_at_check_in_shows_no_exam_before(center: ExamDayCenter) -> None:
    center.bus.handle(SaveStation(actor=center.people.manager, scanner_id="MR2", station_ae_title="MR2_SIEMENS",
                                  worklist_on="check_in"))
    order_id = booked_mri(center, "MR2")
    assert center.worklist_item(center.accession(order_id)) is None


def test_a_walk_in_goes_onto_todays_worklist_from_its_order(center: ExamDayCenter) -> None:
    order_id = center.order("CT-HEAD")
    center.bus.handle(AddToTodaysWorklist(actor=center.people.desk, order_id=order_id, scanner_id="CT1",
                                          note="ED stat"))
    item = center.worklist_item(center.accession(order_id))
    assert item is not None and item["ScheduledProcedureStepSequence"][0]["ScheduledStationAETitle"] == "CT1"
    assert center.state(order_id) == "scheduled"


def test_an_unidentified_patient_is_merged_into_the_real_one_and_the_worklist_follows(center: ExamDayCenter) -> None:
    temporary = center.bus.handle(RegisterUnidentifiedPatient(actor=center.people.tech, sex="M", approximate_age=30))
    order_id = center.order("CT-HEAD", temporary)
    center.bus.handle(AddToTodaysWorklist(actor=center.people.tech, order_id=order_id, scanner_id="CT1"))
    item = center.worklist_item(center.accession(order_id))
    assert item is not None and item["PatientName"].startswith("TRAUMA^")
    real = center.patient(family="Okoye", given="Chidi")
    admin = Principal(user_id="u-admin", username="ada", role=Role.ADMIN)
    center.bus.handle(ResolveTemporaryIdentity(actor=admin, temporary_patient_id=temporary, patient_id=real))
    item = center.worklist_item(center.accession(order_id))
    assert item is not None and item["PatientName"] == "Okoye^Chidi"
    with center.uow() as uow:
        assert uow.orders.get(order_id).patient_id == real
    told = [e for e in center.told if isinstance(e, TemporaryIdentityResolved)]
    assert [(e.temporary_patient_id, e.survivor_patient_id) for e in told] == [(temporary, real)]
    assert told[0].accession_numbers == (center.accession(order_id),)


class Pacs:
    """A PACS stand-in that holds images for some accessions."""

    def __init__(self, held: set[str]) -> None:
        self.held = held

    def images_available(self, accession_number: str) -> bool:
        return accession_number in self.held


def test_qc_passes_only_once_the_pacs_holds_the_images(center: ExamDayCenter) -> None:
    order_id = booked_mri(center)
    accession = center.accession(order_id)
    center.mpps("1.9.7", StepStatus.IN_PROGRESS, accession)
    center.mpps("1.9.7", StepStatus.COMPLETED, accession)
    pacs = Pacs(set())
    center.bus.ctx = dataclasses.replace(center.ctx, image_availability=pacs)
    with pytest.raises(Conflict, match="holds no images"):
        center.bus.handle(ReviewQc(actor=center.people.tech, order_id=order_id, outcome="passed",
                                   required_series_obtained=True))
    pacs.held.add(accession)
    assert center.bus.handle(ReviewQc(actor=center.people.tech, order_id=order_id, outcome="passed",
                                      required_series_obtained=True)) == "imaging_completed"
