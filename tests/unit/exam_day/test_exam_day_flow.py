"""The day of an MRI exam on in-memory fakes: booking to worklist, screening, check-in, MPPS, QC."""

from __future__ import annotations

from exam_day_center import ExamDayCenter

from radflow.domain.study import StepStatus
from radflow.services.exam_day.checkin import ConsentInput, RecordCheckIn
from radflow.services.exam_day.exam import ReviewQc, VerifyPrescan
from radflow.services.screening import SubmitScreeningAnswers

MRI_SAFE = {
    "mri.cardiac_device": "none", "mri.neurostimulator": "none", "mri.cochlear_implant": "none",
    "mri.aneurysm_clip": "none", "mri.drug_pump": "none", "mri.other_implant": "none", "mri.insulin_pump": False,
    "mri.orbital_foreign_body": False, "mri.metalworker": False, "mri.metal_fragments": False,
    "mri.recent_surgery": False, "mri.tattoos": False, "mri.medication_patch": False,
    "pregnancy.status": "not_pregnant", "pregnancy.breastfeeding": False, "comfort.claustrophobia": "none",
    "body.weight_kg": 70,
}


def test_an_mri_patient_goes_from_booking_to_the_reading_worklist(center: ExamDayCenter) -> None:
    order_id = center.order("MR-BRAIN")
    center.book(order_id, "MR1")
    accession = center.accession(order_id)
    item = center.worklist_item(accession)
    assert item is not None and item["ScheduledProcedureStepSequence"][0]["ScheduledStationAETitle"] == "MR1"

    center.bus.handle(SubmitScreeningAnswers(actor=center.people.desk, order_id=order_id, answers=MRI_SAFE))
    assert center.screening_state(order_id) == "clear_with_action"  # the technologist still verifies on site
    center.bus.handle(RecordCheckIn(actor=center.people.desk, order_id=order_id,
                                    identifiers={"full_name": "Ana Rivera", "birth_date": "1970-05-01"},
                                    confirm_coverage=True, payment_note="copay $50 collected", complete=True))
    assert center.state(order_id) == "checked_in"
    arrived = center.worklist_item(accession)
    assert arrived is not None
    assert arrived["ScheduledProcedureStepSequence"][0]["ScheduledProcedureStepStatus"] == "ARRIVED"

    center.bus.handle(SubmitScreeningAnswers(actor=center.people.tech, order_id=order_id, answers=MRI_SAFE))
    assert center.screening_state(order_id) == "clear"
    center.bus.handle(VerifyPrescan(actor=center.people.tech, order_id=order_id, checks={
        "identity": True, "protocol": True, "contrast_plan": True, "positioning": True, "equipment": True}))

    assert center.mpps("1.2.3.1", StepStatus.IN_PROGRESS, accession) == "applied"
    assert center.state(order_id) == "in_progress"
    assert center.mpps("1.2.3.1", StepStatus.COMPLETED, accession) == "applied"
    assert center.state(order_id) == "awaiting_qc"
    assert center.worklist_item(accession) is None

    center.bus.handle(ReviewQc(actor=center.people.tech, order_id=order_id, outcome="passed",
                               required_series_obtained=True))
    assert center.state(order_id) == "imaging_completed"
    _ = ConsentInput
