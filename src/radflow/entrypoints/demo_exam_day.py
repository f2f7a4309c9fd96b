"""Demo seeding of the day of the exam: rooms' DICOM stations, screening answers, a walk-in, an MPPS exception.

Runs after the scheduling demo (`seeded["appointments"]`). Every step goes through the services the
screens and the DICOM listener use; what later areas may want is added to `seeded`:
`screened_order` (the MRI whose patient answered online) and `trauma_patient` (a temporary identity).
"""

from __future__ import annotations

from rich.console import Console

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.errors import RadflowError
from radflow.domain.study import StepStatus
from radflow.domain.users import Principal, Role
from radflow.entrypoints.demo import REFERRER_NPI
from radflow.services.exam_day.performed_steps import RecordPerformedStep, StepReport
from radflow.services.exam_day.room import SaveStation
from radflow.services.exam_day.walk_in import AddToTodaysWorklist, RegisterUnidentifiedPatient
from radflow.services.orders import OrderLine, ReceivedReferral, ReceiveReferral
from radflow.services.screening import SubmitScreeningAnswers

#: (scanner id, station AE title, when its exams appear on the worklist, station name)
STATIONS = (("MR1", "MR1", "scheduled", "MR1 1.5T"), ("MR2", "MR2", "check_in", "MR2 3T"),
            ("CT1", "CT1", "scheduled", "CT1"), ("CT2", "CT2", "scheduled", "CT2 CARDIAC"))
ONLINE_MRI_ANSWERS = {
    "mri.cardiac_device": "none", "mri.neurostimulator": "none", "mri.cochlear_implant": "none",
    "mri.aneurysm_clip": "none", "mri.drug_pump": "none", "mri.other_implant": "none", "mri.insulin_pump": False,
    "mri.orbital_foreign_body": False, "mri.metalworker": False, "mri.metal_fragments": False,
    "mri.recent_surgery": False, "mri.tattoos": True, "mri.medication_patch": False,
    "pregnancy.status": "not_pregnant", "pregnancy.breastfeeding": False, "comfort.claustrophobia": "mild",
    "body.weight_kg": 74,
}


def _quietly(console: Console, what: str, step: object) -> object | None:
    try:
        return step() if callable(step) else None
    except RadflowError as refused:
        console.print(f"[yellow]demo: {what}: {refused.message}[/yellow]")
        return None


def seed(radflow: Radflow, clock: FakeClock, seeded: dict[str, object], console: Console) -> None:
    """Stations, an MRI screening answered online, an unidentified ED patient's walk-in, a held MPPS."""
    manager = Principal.system("demo", role=Role.MANAGER)
    desk = Principal.system("demo-desk", role=Role.FRONT_DESK)
    bus = radflow.bus
    for scanner_id, title, on, name in STATIONS:
        _quietly(console, f"station {scanner_id}", lambda s=scanner_id, t=title, o=on, n=name: bus.handle(SaveStation(
            actor=manager, scanner_id=s, station_ae_title=t, worklist_on=o, station_name=n)))
    mr_ready = seeded.get("mr_ready")
    if isinstance(mr_ready, str):
        _quietly(console, "screening answers", lambda: bus.handle(SubmitScreeningAnswers(
            actor=desk, order_id=mr_ready, answers=ONLINE_MRI_ANSWERS)))
        seeded["screened_order"] = mr_ready
    trauma = _quietly(console, "unidentified patient", lambda: bus.handle(RegisterUnidentifiedPatient(
        actor=desk, sex="M", approximate_age=35, note="ED trauma bay 2")))
    if isinstance(trauma, str):
        seeded["trauma_patient"] = trauma
        received = _quietly(console, "ED order", lambda: bus.handle(ReceiveReferral(
            actor=Principal.system("demo-intake", role=Role.INTAKE), patient_id=trauma, channel="e_order",
            lines=(OrderLine(protocol_code="DX-CHEST", reason_for_exam="Trauma: chest wall pain after a fall",
                             diagnosis_codes=("S29.9XXA",), self_pay=True, setting="emergency", priority="stat",
                             ordering_provider_npi=REFERRER_NPI, ordering_provider_name="Dr. Robin Referrer"),))))
        if isinstance(received, ReceivedReferral) and received.order_ids:
            _quietly(console, "walk-in", lambda: bus.handle(AddToTodaysWorklist(
                actor=desk, order_id=received.order_ids[0], scanner_id="DX1", note="ED stat")))
    dicom = Principal.system("dicom", role=Role.INTEGRATION)
    _quietly(console, "held MPPS", lambda: bus.handle(RecordPerformedStep(actor=dicom, created=True, report=StepReport(
        sop_instance_uid="1.2.826.0.1.3680043.10.999.1", status=StepStatus.IN_PROGRESS, calling_ae="CT2",
        station_ae_title="CT2", modality="CT", accession_numbers=("CT2-TEST-PHANTOM",),
        patient_name="PHANTOM^QA", started=clock.now()))))
    console.print(f"exam day: {len(STATIONS)} stations, screening answered for the booked MRI, "
                  "an unidentified ED patient on today's worklist, one MPPS in the exception queue")
